// Calls to Signale's API with the signed-in person's ID token (kept in memory by auth.js, sent
// as a bearer token: no cookie). Every answer of 400 or more is an RFC 9457 problem, thrown
// as ApiProblem; its message is already in the console's language (Accept-Language).

import { idToken } from "./auth.js";
import { lang } from "./i18n.js";

export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || `http_${status}`;
  }
}

export async function authHeaders() {
  const headers = { "Accept-Language": lang() };
  const token = await idToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

export function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(name, String(one));
  }
  const text = params.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

export async function api(path, { method = "GET", body, ifMatch, query, headers = {} } = {}) {
  const init = { method, headers: { ...(await authHeaders()), Accept: "application/json", ...headers } };
  if (ifMatch) init.headers["If-Match"] = ifMatch;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), init);
  } catch (error) {
    throw new ApiProblem(0, { code: "network_unreachable", detail: String(error) });
  }
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (response.status >= 400) throw new ApiProblem(response.status, data);
  return { status: response.status, etag: response.headers.get("ETag"), body: data };
}

export function etagOf(version) {
  return `"${version}"`;
}
