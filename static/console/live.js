// The live stream (GET /v1/events, server-sent events), read with fetch() so that the bearer
// token goes in a header: no token in a URL, no cookie. Each event is dispatched on `events`
// ("report", "resync"); when the stream drops, it reconnects with a fresh token after a
// growing pause and dispatches "resync" (changes may have been missed meanwhile).

import { authHeaders } from "../common/api.js";

export function connectLive(events, { onState = () => {} } = {}) {
  let stopped = false;
  let controller = null;
  let pause = 1000;
  let connectedOnce = false;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const response = await fetch("/v1/events", {
          headers: { ...(await authHeaders()), Accept: "text/event-stream" },
          signal: controller.signal,
          cache: "no-store",
        });
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onState("live");
        if (connectedOnce) events.dispatchEvent(new CustomEvent("resync"));
        connectedOnce = true;
        pause = 1000;
        await read(response.body.getReader());
      } catch (error) {
        if (stopped) return;
      }
      onState("offline");
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 30000);
    }
  }

  async function read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        dispatch(block);
      }
    }
  }

  function dispatch(block) {
    let name = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length && name === "message") return;
    let detail = null;
    try {
      detail = data.length ? JSON.parse(data.join("\n")) : null;
    } catch (_) {
      return;
    }
    events.dispatchEvent(new CustomEvent(name, { detail }));
  }

  run();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}
