// The browser tests' handle on static/common/auth.js (tests/web/test_auth.py): the page
// loads the SDK's compat scripts as the console does, and this module exposes auth.js's
// functions to the driver, with the page's clock movable (the SDK decides with Date.now()
// whether a token is about to expire).

/* global firebase */
import * as signIn from '/auth.js';

const realNow = Date.now.bind(Date);
let offsetMs = 0;
Date.now = () => realNow() + offsetMs;

const users = [];

function failure(error) {
  return {
    error: error?.code || String(error),
    firebaseCode: error?.firebaseCode || null,
    name: error?.name || null,
  };
}

async function storedText(database) {
  const opened = await new Promise((resolve, reject) => {
    const request = indexedDB.open(database.name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const parts = [];
  for (const name of opened.objectStoreNames) {
    const rows = await new Promise((resolve, reject) => {
      const request = opened.transaction(name, 'readonly').objectStore(name).getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    parts.push(`${name}: ${JSON.stringify(rows)}`);
  }
  opened.close();
  return parts.join('\n');
}

window.harness = {
  moveClock(seconds) {
    offsetMs = seconds * 1000;
  },
  async call(name, ...args) {
    try {
      return { value: await signIn[name](...args) };
    } catch (error) {
      return failure(error);
    }
  },
  listen() {
    signIn.onUserChange((user) => users.push(user));
  },
  users() {
    return users;
  },
  // The resident page's sign-in (anonymous), which auth.js does not offer the console.
  async signInAnonymously() {
    try {
      const credential = await firebase.auth().signInAnonymously();
      return { value: { uid: credential.user.uid, anonymous: credential.user.isAnonymous } };
    } catch (error) {
      return failure(error);
    }
  },
  // Everything the page's origin keeps: Web Storage, cookies, IndexedDB.
  async stored() {
    const local = Object.entries(localStorage);
    const session = Object.entries(sessionStorage);
    const databases = await indexedDB.databases();
    const indexed = [];
    for (const database of databases) {
      indexed.push(`${database.name}\n${await storedText(database)}`);
    }
    return {
      localStorage: JSON.stringify(local),
      sessionStorage: JSON.stringify(session),
      cookies: document.cookie,
      indexedDB: indexed.join('\n'),
      databases: databases.map((d) => d.name),
    };
  },
};
document.documentElement.dataset.harness = 'ready';
