// The page's calls to the bank server: JSON in, JSON out, errors as { error, message } (host/web/server.ts).

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new ApiError("network", "cannot reach the server", 0);
  }
  const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  if (!response.ok) throw new ApiError(body.error ?? "internal", body.message ?? `HTTP ${response.status}`, response.status);
  return body as T;
}

/** Secrets (passwords, codes) go only in POST bodies, never in a URL. */
export function post<T>(path: string, body: Record<string, string>): Promise<T> {
  return call<T>(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

export function get<T>(path: string): Promise<T> {
  return call<T>(path, { method: "GET" });
}

export interface Issued {
  serviceId: string;
  userId: string;
  mail: string;
  mailId: string | null;
}

export interface MailSummary {
  id: string;
  to: string;
  subject: string;
  date: string;
}
