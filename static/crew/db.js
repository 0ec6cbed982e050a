// The tablet's memory: one IndexedDB database for the app, every record keyed by the signed-in
// person's uid first, so that two crew members sharing a tablet never see each other's tickets
// or queued work, and signing out removes exactly one person's records.
//
//   tickets   [uid, id]  the sync's work item, the ticket's detail, history, asset, and what
//                        the tablet did to it meanwhile (applied optimistically)
//   outbox    seq        every action and after photo, written BEFORE anything is sent:
//                        {uid, reportId, kind, action, body, key, ifMatch, clientAt, blob,
//                         state: pending | done | conflict | failed, ...}
//   meta      [uid, key] the sync cursor, the last sync's time, who "me" is, categories

const NAME = "signale-crew";
const VERSION = 1;
let opening = null;

export function openDb() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("tickets", { keyPath: ["uid", "id"] });
      const outbox = db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
      outbox.createIndex("uid", "uid");
      db.createObjectStore("meta", { keyPath: ["uid", "key"] });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function store(name, mode = "readonly") {
  const db = await openDb();
  return db.transaction(name, mode).objectStore(name);
}

function uidRange(uid) {
  return IDBKeyRange.bound([uid], [uid, []]);
}

// --- tickets --------------------------------------------------------------------------------

export async function tickets(uid) {
  return done((await store("tickets")).getAll(uidRange(uid)));
}

export async function ticket(uid, id) {
  return done((await store("tickets")).get([uid, Number(id)]));
}

export async function putTicket(record) {
  return done((await store("tickets", "readwrite")).put(record));
}

export async function deleteTicket(uid, id) {
  return done((await store("tickets", "readwrite")).delete([uid, Number(id)]));
}

// --- meta -----------------------------------------------------------------------------------

export async function getMeta(uid, key) {
  const row = await done((await store("meta")).get([uid, key]));
  return row ? row.value : undefined;
}

export async function setMeta(uid, key, value) {
  return done((await store("meta", "readwrite")).put({ uid, key, value }));
}

// --- outbox ---------------------------------------------------------------------------------

export async function addEntry(entry) {
  return done((await store("outbox", "readwrite")).add(entry));
}

export async function putEntry(entry) {
  return done((await store("outbox", "readwrite")).put(entry));
}

export async function deleteEntry(seq) {
  return done((await store("outbox", "readwrite")).delete(seq));
}

// Every entry of this person, oldest first (the order the crew did things in).
export async function entries(uid) {
  const rows = await done((await store("outbox")).index("uid").getAll(uid));
  return rows.sort((a, b) => a.seq - b.seq);
}

// Sign-out: this person's tickets, queue and settings go.
export async function forget(uid) {
  const db = await openDb();
  const tx = db.transaction(["tickets", "outbox", "meta"], "readwrite");
  tx.objectStore("tickets").delete(uidRange(uid));
  tx.objectStore("meta").delete(uidRange(uid));
  const outbox = tx.objectStore("outbox");
  const keys = await done(outbox.index("uid").getAllKeys(uid));
  for (const key of keys) outbox.delete(key);
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}
