// The live channel: one WebSocket to ws_url (GET /client-config) with ?token=<ID token>,
// reconnecting with backoff; while it is down (or absent) the pages poll instead.
import { clientConfig, session } from "./api.js";
import { setBanner } from "./ui.js";

const POLL_MS = 3000;
const PING_MS = 25000;
const MAX_BACKOFF_MS = 30000;
const watchers = new Set();
const seen = new Set();
let socket = null;
let open = false;
let backoff = 1000;
let retryTimer = null;
let pingTimer = null;
let pollTimer = null;

// Calls refresh() whenever a frame matching `match` arrives, or every few seconds while
// the socket is not open. Returns the function that stops watching.
export function watch(refresh, match = () => true) {
  const watcher = { refresh, match };
  watchers.add(watcher);
  connect();
  schedulePolling();
  return () => {
    watchers.delete(watcher);
    schedulePolling();
  };
}

export function isLive() {
  return open;
}

async function connect() {
  if (socket || retryTimer || !session.get()) return;
  const { ws_url: url } = await clientConfig();
  if (!url || socket || !watchers.size) return;
  const ws = new WebSocket(`${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(session.get().id_token)}`);
  socket = ws;
  ws.addEventListener("open", () => {
    open = true;
    backoff = 1000;
    setBanner("live", null);
    pingTimer = setInterval(() => ws.send(JSON.stringify({ action: "ping" })), PING_MS);
    schedulePolling();
    for (const w of watchers) w.refresh(); // catch up on what happened while away
  });
  ws.addEventListener("message", (event) => receive(event.data));
  ws.addEventListener("close", () => {
    const wasOpen = open;
    open = false;
    socket = null;
    clearInterval(pingTimer);
    if (!watchers.size) return;
    setBanner("live", wasOpen ? "Live updates were interrupted; reconnecting and refreshing every few seconds." : "Live updates are unavailable; refreshing every few seconds.");
    schedulePolling();
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect();
    }, backoff + Math.random() * 500);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  });
}

function receive(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    return;
  }
  if (!frame.type || frame.type === "pong") return;
  if (frame.event_id) {
    if (seen.has(frame.event_id)) return;
    seen.add(frame.event_id);
  }
  for (const w of watchers) if (w.match(frame)) w.refresh(frame);
}

// On sign-out: the socket belongs to the signed-in user.
export function closeLive() {
  clearTimeout(retryTimer);
  retryTimer = null;
  clearInterval(pollTimer);
  pollTimer = null;
  setBanner("live", null);
  open = false;
  if (socket) socket.close();
  socket = null;
}

function schedulePolling() {
  clearInterval(pollTimer);
  pollTimer = null;
  if (open || !watchers.size) return;
  pollTimer = setInterval(() => {
    if (document.hidden) return;
    for (const w of watchers) w.refresh();
  }, POLL_MS);
}
