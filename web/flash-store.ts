// The browser board's non-volatile parts in IndexedDB: the NOR flash image (16 KiB, as the firmware
// left it), the RTC's lead over the wall clock (its backup cell kept it counting while the page was
// closed) and the crystal error. One record, written whenever the firmware programs or erases flash.

const DB_NAME = "otp-token";
const STORE = "board";
const KEY = "token";

export interface SavedBoard {
  /** The flash image, FLASH_SIZE_BYTES. */
  flash: Uint8Array;
  /** ms the token's RTC reads ahead of the wall clock (negative: behind). */
  rtcLeadMs: number;
  driftPpm: number;
  /** Wall-clock ms since Unix epoch when saved. */
  savedAt: number;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const transaction = db.transaction(STORE, mode);
        const request = use(transaction.objectStore(STORE));
        transaction.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        transaction.onerror = () => {
          db.close();
          reject(transaction.error);
        };
      }),
  );
}

export async function loadBoard(): Promise<SavedBoard | undefined> {
  const saved = (await run("readonly", (store) => store.get(KEY))) as SavedBoard | undefined;
  return saved && saved.flash instanceof Uint8Array ? saved : undefined;
}

export async function saveBoard(board: SavedBoard): Promise<void> {
  await run("readwrite", (store) => store.put(board, KEY));
}

export async function eraseBoard(): Promise<void> {
  await run("readwrite", (store) => store.delete(KEY));
}
