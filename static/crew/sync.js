// Bringing the tablet's tickets up to date: GET /v1/crews/me/sync (the full list the first
// time, then what changed since the cursor kept in IndexedDB), then each ticket's detail,
// history, equipment and its category's questions, read again only when its version moved,
// so that everything a ticket shows is there with no network.

import { api } from "../common/api.js";
import * as db from "./db.js";

const KEPT_DONE = ["resolved", "closed"]; // finished by the crew: kept, under "done"
const KEEP_DONE_MS = 7 * 24 * 3600 * 1000; // for a week

// Resolves to the number of tickets that changed on the tablet (0: nothing to redraw).
export async function sync(uid) {
  let since = await db.getMeta(uid, "cursor");
  let body;
  try {
    body = (await api("/v1/crews/me/sync", { query: { since } })).body;
  } catch (error) {
    if (error.status !== 400 || !since) throw error;
    since = undefined; // a cursor the API no longer knows: start again from the full list
    body = (await api("/v1/crews/me/sync")).body;
  }
  const known = new Map((await db.tickets(uid)).map((record) => [record.id, record]));
  let changes = body.tickets.length + body.removed.length;
  if (body.full) {
    const listed = new Set(body.tickets.map((item) => item.id));
    for (const record of known.values()) {
      if (!listed.has(record.id) && !record.done) {
        await db.deleteTicket(uid, record.id);
        changes += 1;
      }
    }
  }
  for (const item of body.tickets) {
    const record = known.get(item.id) || { uid, id: item.id };
    record.item = item;
    record.version = item.version;
    record.done = false;
    await db.putTicket(record);
  }
  for (const gone of body.removed) {
    const record = known.get(gone.id);
    if (record && KEPT_DONE.includes(gone.status)) {
      record.item = { ...record.item, status: gone.status, version: gone.version };
      record.version = gone.version;
      record.done = true;
      record.doneAt = Date.now();
      await db.putTicket(record);
    } else if (record) {
      await db.deleteTicket(uid, gone.id);
    }
  }
  for (const record of known.values()) {
    if (record.done && Date.now() - (record.doneAt || 0) > KEEP_DONE_MS) await db.deleteTicket(uid, record.id);
  }
  await db.setMeta(uid, "cursor", body.cursor);
  await db.setMeta(uid, "lastSync", body.as_of);
  for (const record of await db.tickets(uid)) {
    if (!record.done && (!record.detail || record.detail.version !== record.version || !record.history || record.historyStale)) {
      if (await readDetail(uid, record).catch(() => null)) changes += 1;
    }
  }
  return changes;
}

// One ticket's detail, history, equipment and questions, read now and kept.
export async function readDetail(uid, record) {
  const [detail, history] = await Promise.all([
    api(`/v1/reports/${record.id}`),
    api(`/v1/reports/${record.id}/history`, { query: { limit: 200 } }),
  ]);
  const reference = detail.body.routing?.asset?.reference;
  let asset = record.asset;
  if (reference && asset?.reference !== reference) {
    asset = await api(`/v1/assets/${encodeURIComponent(reference)}`).then((a) => a.body, () => ({ reference }));
  }
  const code = detail.body.category?.code || record.item?.category?.code;
  if (code && (await db.getMeta(uid, `questions:${code}`)) === undefined) {
    const category = await api(`/v1/categories/${encodeURIComponent(code)}`).then((c) => c.body, () => null);
    if (category) await db.setMeta(uid, `questions:${code}`, category.questions || []);
  }
  // Read again: a replay may have moved the ticket on meanwhile; only the detail is ours.
  const fresh = (await db.ticket(uid, record.id)) || record;
  Object.assign(fresh, { detail: detail.body, history: history.body.items, asset, historyStale: false });
  await db.putTicket(fresh);
  return fresh;
}
