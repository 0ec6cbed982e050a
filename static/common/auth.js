// Sign-in for Signale's web apps: the Firebase JS SDK (compat scripts, global `firebase`).
// The console keeps the ID token in memory only (persistence "none", the default: nothing in
// localStorage, sessionStorage, IndexedDB or cookies; a reload signs out). The crew tablet
// and the resident page ask for persistence "local": the SDK keeps the session in the
// origin's IndexedDB, so a tablet reopened offline is still signed in, and a resident's
// anonymous account (their reports, their pending report's Idempotency-Key) survives a
// reload.
//
// In emulator mode (config.auth_emulator, development only) the SDK talks to the Auth
// emulator (tools/auth_standin.py under `make run`) and the demo picker signs in as any
// "demo-" account with an unsigned custom token, as firebase-admin's emulated signer
// makes them. Every failure is an AuthError whose `code` is one of AUTH_ERROR_CODES, for
// the page to translate.

/* global firebase */

// firebase-admin's emulated signer: the issuer it writes, and the custom-token audience.
const EMULATOR_SIGNER = 'firebase-auth-emulator@example.com';
const CUSTOM_TOKEN_AUDIENCE =
  'https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit';

export const AUTH_ERROR_CODES = Object.freeze([
  'invalid_credentials', // wrong password, unknown account
  'invalid_email', // not an e-mail address
  'missing_password',
  'account_disabled',
  'too_many_attempts',
  'unreachable', // the sign-in service did not answer (network, emulator not running)
  'session_expired', // the session cannot be renewed: sign in again
  'not_started', // startAuth() was not called
  'misconfigured', // the page's Firebase configuration is refused (no API key, say)
  'demo_unavailable', // demo accounts exist in emulator mode only
  'invalid_demo_account', // the emulator refused the demo account's token
  'unknown',
]);

const FIREBASE_CODES = {
  'auth/wrong-password': 'invalid_credentials',
  'auth/user-not-found': 'invalid_credentials',
  'auth/invalid-credential': 'invalid_credentials',
  'auth/invalid-login-credentials': 'invalid_credentials',
  'auth/invalid-email': 'invalid_email',
  'auth/missing-email': 'invalid_email',
  'auth/missing-password': 'missing_password',
  'auth/user-disabled': 'account_disabled',
  'auth/too-many-requests': 'too_many_attempts',
  'auth/network-request-failed': 'unreachable',
  'auth/timeout': 'unreachable',
  'auth/user-token-expired': 'session_expired',
  'auth/invalid-user-token': 'session_expired',
  'auth/user-mismatch': 'session_expired',
  'auth/invalid-custom-token': 'invalid_demo_account',
  'auth/custom-token-mismatch': 'invalid_demo_account',
  'auth/invalid-api-key': 'misconfigured',
  'auth/api-key-not-valid.-please-pass-a-valid-api-key.': 'misconfigured',
  'auth/invalid-emulator-scheme': 'misconfigured',
  'auth/emulator-config-failed': 'misconfigured',
  'auth/operation-not-allowed': 'misconfigured',
  'auth/configuration-not-found': 'misconfigured',
};

export class AuthError extends Error {
  constructor(code, cause) {
    super(code);
    this.name = 'AuthError';
    this.code = code; // one of AUTH_ERROR_CODES
    this.firebaseCode = cause?.code || null; // what the SDK said, for logs
    this.cause = cause;
  }
}

function mapped(error) {
  if (error instanceof AuthError) return error;
  return new AuthError(FIREBASE_CODES[error?.code] || 'unknown', error);
}

let auth = null;
let startError = null; // why startAuth() failed, if it did
let emulator = false;
let ready = null; // settles once persistence is NONE and the first state is known
let current; // undefined until the first state is known, then null or a user
const listeners = new Set();

function describe(user) {
  return user ? { uid: user.uid, email: user.email || null, anonymous: user.isAnonymous } : null;
}

function started() {
  if (!auth) throw startError || new AuthError('not_started');
  return auth;
}

const PERSISTENCE = { none: 'NONE', local: 'LOCAL' };

// Start the SDK with the page's configuration (GET /<app>/config.json). Resolves once
// the SDK is ready; calling it again returns the same promise. `persistence`: "none"
// (memory only) or "local" (the SDK's IndexedDB, across reloads).
export function startAuth(config, { persistence = 'none' } = {}) {
  if (ready) return ready;
  try {
    const app = firebase.apps.length ? firebase.app() : firebase.initializeApp(config.firebase);
    const firebaseAuth = app.auth();
    if (config.auth_emulator) {
      // Before any request: the SDK refuses to switch once it has spoken to Google.
      firebaseAuth.useEmulator(config.auth_emulator, { disableWarnings: true });
    }
    auth = firebaseAuth;
    emulator = Boolean(config.auth_emulator);
  } catch (error) {
    startError = mapped(error);
    ready = Promise.reject(startError);
    return ready;
  }
  ready = auth
    .setPersistence(firebase.auth.Auth.Persistence[PERSISTENCE[persistence] || 'NONE'])
    .then(
      () =>
        new Promise((resolve) => {
          auth.onAuthStateChanged((user) => {
            current = describe(user);
            for (const callback of listeners) callback(current);
            resolve();
          });
        }),
    )
    .catch((error) => {
      throw mapped(error);
    });
  return ready;
}

// Call `callback(user)` now (once the state is known) and on every sign-in and sign-out;
// `user` is null or {uid, email, anonymous}. Returns a function that stops the calls.
export function onUserChange(callback) {
  listeners.add(callback);
  if (current !== undefined) queueMicrotask(() => listeners.has(callback) && callback(current));
  return () => listeners.delete(callback);
}

// The signed-in user's ID token (the API's Authorization: Bearer), renewed by the SDK when
// it expires within 30 seconds; null when nobody is signed in.
export async function idToken() {
  const user = started().currentUser;
  if (!user) return null;
  try {
    return await user.getIdToken();
  } catch (error) {
    throw mapped(error);
  }
}

function base64url(object) {
  const bytes = new TextEncoder().encode(JSON.stringify(object));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// The unsigned custom token firebase-admin makes when FIREBASE_AUTH_EMULATOR_HOST is set:
// only an Auth emulator accepts it.
function emulatorCustomToken(uid) {
  const iat = Math.floor(Date.now() / 1000);
  const payload = {
    iss: EMULATOR_SIGNER,
    sub: EMULATOR_SIGNER,
    aud: CUSTOM_TOKEN_AUDIENCE,
    uid,
    iat,
    exp: iat + 3600,
  };
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
}

// Emulator mode only: sign in as the demo account `uid` (config.demo_accounts).
export async function signInAsDemo(uid) {
  const firebaseAuth = started();
  await ready;
  if (!emulator) throw new AuthError('demo_unavailable');
  try {
    const credential = await firebaseAuth.signInWithCustomToken(emulatorCustomToken(uid));
    return describe(credential.user);
  } catch (error) {
    throw mapped(error);
  }
}

export async function signInWithPassword(email, password) {
  const firebaseAuth = started();
  await ready;
  if (!email) throw new AuthError('invalid_email');
  if (!password) throw new AuthError('missing_password');
  try {
    const credential = await firebaseAuth.signInWithEmailAndPassword(email, password);
    return describe(credential.user);
  } catch (error) {
    throw mapped(error);
  }
}

// A resident without an account: Firebase anonymous sign-in (the API treats the uid as
// a resident's). Signing in later with an e-mail can link it; nothing else is asked.
export async function signInAnonymous() {
  const firebaseAuth = started();
  await ready;
  try {
    const credential = await firebaseAuth.signInAnonymously();
    return describe(credential.user);
  } catch (error) {
    throw mapped(error);
  }
}

export async function signOutUser() {
  const firebaseAuth = started();
  await ready;
  await firebaseAuth.signOut();
}
