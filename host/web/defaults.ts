// Where the browser simulator listens: loopback only (the page's bank trusts its own login key).
export const DEFAULT_PORT = 8787;
export const LISTEN_HOST = "127.0.0.1";
