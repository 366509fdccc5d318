// The API client: same-origin /api/, RFC 9457 problems as ApiError, the session's tokens,
// one silent refresh on a 401, and a banner while the API cannot be reached.
import { setBanner } from "./ui.js";

const BASE = "/api";
const SESSION_KEY = "chowline.session";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || "Something went wrong";
    this.detail = problem.detail || "";
    this.type = problem.type || "";
    this.errors = problem.errors || [];
  }
}

export const session = {
  get() {
    try {
      return JSON.parse(localStorage.getItem(SESSION_KEY)) || null;
    } catch {
      return null;
    }
  },
  save(value) {
    localStorage.setItem(SESSION_KEY, JSON.stringify(value));
  },
  clear() {
    localStorage.removeItem(SESSION_KEY);
  },
  roles() {
    return this.get()?.roles || [];
  },
};

// Called when the session cannot be refreshed: the app sends the user to sign-in.
let onSessionExpired = () => {};
export function whenSessionExpires(handler) {
  onSessionExpired = handler;
}

// Every API call but /client-config carries the web app's API key, which /client-config gives.
async function send(method, path, body, headers, fresh = false, keyed = true) {
  const key = keyed ? (await clientConfig()).web_api_key : undefined;
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers: {
        Accept: "application/json",
        ...(body !== undefined && { "Content-Type": "application/json" }),
        ...(key && { "X-Api-Key": key }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: fresh ? "no-cache" : "default",
    });
  } catch {
    setBanner("api", "Chowline cannot be reached. Check your connection; we will keep trying.");
    throw new ApiError(0, { title: "Chowline cannot be reached", detail: "Check your connection and try again." });
  }
  setBanner("api", response.status >= 502 && response.status <= 504 ? "Chowline is not answering right now." : null);
  if (response.status === 204) return null;
  const text = await response.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { title: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

let refreshing = null;
// One refresh at a time, whoever asks. The answer has no refresh token (Cognito issues one
// at sign-in only; a null here would end the session at the next refresh): it is kept.
async function refresh(current) {
  refreshing ||= send("POST", "/auth/refresh", { refresh_token: current.refresh_token })
    .then((tokens) => {
      session.save({
        ...current,
        id_token: tokens.id_token,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token || current.refresh_token,
        expires_at: Date.now() + tokens.expires_in * 1000,
      });
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export async function api(method, path, { body, headers = {}, auth = true, fresh = false } = {}) {
  const current = auth ? session.get() : null;
  if (current?.refresh_token && current.expires_at && current.expires_at - Date.now() < 30_000) await refresh(current);
  const idToken = () => (auth ? session.get()?.id_token : undefined);
  const attempt = (token) => send(method, path, body, { ...headers, ...(token && { Authorization: `Bearer ${token}` }) }, fresh);
  const sent = idToken();
  try {
    return await attempt(sent);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || !current) throw error;
    // Refused for a token another call has replaced meanwhile: retry with the new one
    // rather than refresh again.
    const latest = session.get();
    const renewed = latest && latest.id_token !== sent ? true : Boolean(latest?.refresh_token) && (await refresh(latest));
    if (renewed) return attempt(idToken());
    session.clear();
    onSessionExpired();
    throw error;
  }
}

export const get = (path, options) => api("GET", path, options);
export const post = (path, body, options = {}) => api("POST", path, { ...options, body });
export const patch = (path, body) => api("PATCH", path, { body });
export const put = (path, body) => api("PUT", path, { body });
export const remove = (path) => api("DELETE", path);

// Signs in with tokens from /auth/login or /auth/mfa: keeps them and the caller's roles.
export async function startSession(tokens, email) {
  session.save({ ...tokens, email, expires_at: Date.now() + tokens.expires_in * 1000 });
  const me = await get("/users/me");
  session.save({ ...session.get(), roles: me.roles, name: me.name, user_id: me.user_id, addresses: me.addresses });
  return me;
}

export async function endSession() {
  const current = session.get();
  session.clear();
  if (current?.access_token) {
    const headers = { Authorization: `Bearer ${current.id_token}` };
    await send("POST", "/auth/logout", { access_token: current.access_token }, headers).catch(() => {});
  }
}

let config = null;
// GET /client-config (keyless), read once: where the live channel is, which stage this is and
// the web app's API key ({} while it cannot be read; the next call asks again).
export async function clientConfig() {
  config ||= send("GET", "/client-config", undefined, {}, false, false).catch(() => {
    config = null;
    return {};
  });
  return config;
}

export function newKey() {
  return crypto.randomUUID();
}
