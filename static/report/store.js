// What the resident page keeps in the browser's IndexedDB, for this browser only: the report
// being written (the draft, with its photos as Blobs, its Idempotency-Key and each photo's
// key, until the report and its photos are all sent) and which reports the resident follows
// from this page. Nothing the API answered about other people is kept.

const DB_NAME = "signale-report";
const VERSION = 1;
const DRAFTS = "drafts";
const FOLLOWS = "follows";
const CURRENT = "current";

let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(DRAFTS)) db.createObjectStore(DRAFTS);
      if (!db.objectStoreNames.contains(FOLLOWS)) db.createObjectStore(FOLLOWS);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

async function run(store, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(store, mode);
    const request = work(transaction.objectStore(store));
    transaction.oncomplete = () => resolve(request?.result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

// The draft in progress, or null.
export function loadDraft() {
  return run(DRAFTS, "readonly", (store) => store.get(CURRENT)).then((draft) => draft || null);
}

// Written at every step: a reload (or a closed tab) finds it as it was.
export function saveDraft(draft) {
  return run(DRAFTS, "readwrite", (store) => store.put(draft, CURRENT));
}

export function dropDraft() {
  return run(DRAFTS, "readwrite", (store) => store.delete(CURRENT));
}

export function isFollowed(reportId) {
  return run(FOLLOWS, "readonly", (store) => store.get(Number(reportId))).then(Boolean);
}

export function setFollowed(reportId, following) {
  return run(FOLLOWS, "readwrite", (store) =>
    following ? store.put(true, Number(reportId)) : store.delete(Number(reportId)),
  );
}
