// The outbox: every action and after photo is written to IndexedDB FIRST, with the time the
// crew did it (client_at), the ticket's version the tablet had (If-Match) and a fresh
// Idempotency-Key, then replayed in order whenever the network allows.
//
// A replay sends the same key and the same body every time, so sending again what may have
// got through changes nothing (the API answers the first answer again). A later action on
// the same ticket is sent with the ETag of the previous answer, written into its entry
// before it is sent, so its own retries stay identical too.
//
// Outcomes: 2xx, done (the ticket takes the answer); 409 offline_conflict, or an after
// photo refused because the ticket is no longer the crew's (403 photo_not_allowed): a
// conflict, kept and shown with both versions until the crew acknowledges it; no network,
// 401 (a token to renew), 429 or 5xx: stays queued, retried with back-off, and nothing after
// it is sent meanwhile (order); any other 4xx: failed, shown with the API's message. Nothing
// is dropped without the crew having seen it.

import { authHeaders } from "../common/api.js";
import { idempotencyKey } from "../common/dom.js";
import * as db from "./db.js";

// What each action does to the ticket's state, applied on the tablet before it is sent.
export const TARGET = { start: "in_progress", resolve: "resolved", hand_back: "acknowledged", note: null };
const RETRY_LATER = new Set([0, 401, 408, 425, 429, 500, 502, 503, 504]);
const KEEP_DONE_MS = 24 * 3600 * 1000; // as long as the API keeps an Idempotency-Key

export function snapshot(record) {
  const item = record.item || {};
  return { id: record.id, reference: item.reference, category: item.category, crew: item.crew, address: item.address, status: item.status, version: record.version };
}

// Queues `action` (start, note, resolve, hand_back) with `body` on the ticket `record`.
export async function queueAction(uid, record, action, body) {
  const entry = {
    uid,
    reportId: record.id,
    kind: "action",
    action,
    body: { ...body, client_at: new Date().toISOString() },
    key: idempotencyKey(),
    ifMatch: record.version,
    ticket: snapshot(record),
    state: "pending",
    attempts: 0,
    nextAt: 0,
    createdAt: Date.now(),
  };
  entry.seq = await db.addEntry(entry);
  return entry;
}

// Queues an after photo (a Blob, kept in IndexedDB until it is answered).
export async function queuePhoto(uid, record, blob, name) {
  const entry = {
    uid,
    reportId: record.id,
    kind: "photo",
    action: "photo",
    blob,
    name: name || "after.jpg",
    key: idempotencyKey(),
    clientAt: new Date().toISOString(),
    ticket: snapshot(record),
    state: "pending",
    attempts: 0,
    nextAt: 0,
    createdAt: Date.now(),
  };
  entry.seq = await db.addEntry(entry);
  return entry;
}

// The ticket's state as the crew left it: the server's, then each action still queued.
export function effectiveStatus(record, pending) {
  let status = record.item?.status;
  for (const entry of pending) {
    if (entry.reportId === record.id && entry.kind === "action" && TARGET[entry.action]) status = TARGET[entry.action];
  }
  return status;
}

async function send(entry) {
  let headers;
  try {
    headers = { ...(await authHeaders()), Accept: "application/json", "Idempotency-Key": entry.key };
  } catch (_) {
    return { status: 0 }; // no token without the network: later
  }
  const init = { method: "POST", headers };
  let url;
  if (entry.kind === "photo") {
    const form = new FormData();
    form.append("file", entry.blob, entry.name);
    init.body = form;
    url = `/v1/reports/${entry.reportId}/photos?kind=after`;
  } else {
    headers["If-Match"] = `"${entry.ifMatch}"`;
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(entry.body);
    url = `/v1/reports/${entry.reportId}/actions/${entry.action.replace("_", "-")}`;
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (_) {
    return { status: 0 };
  }
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await response.json().catch(() => null) : null;
  return { status: response.status, body, etag: response.headers.get("ETag") };
}

function isConflict(entry, answer) {
  const code = answer.body?.code;
  return (answer.status === 409 && code === "offline_conflict") || (entry.kind === "photo" && answer.status === 403 && code === "photo_not_allowed");
}

let running = null;

// Sends what is queued, oldest first. Resolves to {sent, waiting}: how many got an answer,
// and whether some wait for the network. One replay at a time. `now`: without waiting for
// the back-off (the network just came back, or the crew asked).
export function replay(uid, { onChange = () => {}, now = false } = {}) {
  if (!running) {
    running = replayOnce(uid, onChange, now).finally(() => {
      running = null;
    });
  }
  return running;
}

async function replayOnce(uid, onChange, now) {
  const all = await db.entries(uid);
  let sent = 0;
  for (const old of all) {
    if (old.state === "done" && Date.now() - (old.doneAt || 0) > KEEP_DONE_MS) await db.deleteEntry(old.seq);
  }
  for (const entry of all.filter((e) => e.state === "pending")) {
    if (!now && entry.nextAt > Date.now()) return { sent, waiting: true };
    const answer = await send(entry);
    if (RETRY_LATER.has(answer.status) || answer.status >= 500) {
      entry.attempts += 1;
      entry.nextAt = Date.now() + Math.min(60000, 1000 * 2 ** Math.min(entry.attempts, 6));
      entry.lastError = answer.status ? `HTTP ${answer.status}` : "network";
      await db.putEntry(entry);
      onChange();
      return { sent, waiting: true };
    }
    sent += 1;
    entry.answeredAt = Date.now();
    entry.answer = { status: answer.status, body: answer.body };
    if (answer.status < 300) {
      entry.state = "done";
      entry.doneAt = Date.now();
      if (entry.kind === "action") await tookAnswer(uid, entry, answer);
    } else if (isConflict(entry, answer)) {
      entry.state = "conflict";
    } else {
      entry.state = "failed";
    }
    await db.putEntry(entry);
    onChange();
  }
  return { sent, waiting: false };
}

// A done action: the ticket takes the answer (the report as it is now), and the next actions
// queued on it will be sent with this answer's version.
async function tookAnswer(uid, entry, answer) {
  const report = answer.body;
  // The answer's ETag is the version the next action on this ticket is sent with.
  const tagged = /^"(\d+)"$/.exec(answer.etag || "");
  const version = tagged ? Number(tagged[1]) : report?.version;
  const record = await db.ticket(uid, entry.reportId);
  if (record && report) {
    record.version = version;
    record.item = { ...record.item, status: report.status, version, priority: report.priority ?? record.item?.priority, due_at: report.due_at ?? record.item?.due_at };
    record.detail = { ...(record.detail || {}), ...report };
    // The answer is the report, not its history: the next sync reads that again (the
    // crew's own note, the hand-back, appear in it).
    record.historyStale = true;
    await db.putTicket(record);
  }
  if (version === undefined) return;
  for (const later of await db.entries(uid)) {
    if (later.seq > entry.seq && later.state === "pending" && later.kind === "action" && later.reportId === entry.reportId) {
      later.ifMatch = version;
      await db.putEntry(later);
    }
  }
}

export async function acknowledge(seq) {
  await db.deleteEntry(seq);
}
