// The HTTP API from the page: same origin, the HttpOnly `auth_token` cookie is the credential.
// Both error envelopes are read: `/api` ({error, code}) and the root family ({error: {code, message}}).

export class ApiError extends Error {
  constructor(status, message, code, details = null, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details; // e.g. INVALID_FLOW's {node, problem, param}
    this.field = field; // the body field a 400 is about, when the server names one
  }
}

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached", "NETWORK");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const err = data && data.error;
    let message = `Request failed (${response.status})`;
    let code = null;
    let field = (data && data.field) || null;
    if (typeof err === "string") {
      message = err;
      code = data.code || null;
    } else if (err && typeof err === "object") {
      message = err.message || message;
      code = err.code || null;
      field = err.field || field;
    } else if (data && typeof data.detail === "string") {
      message = data.detail;
    }
    if (response.status === 401) window.dispatchEvent(new CustomEvent("ordex:unauthenticated"));
    throw new ApiError(response.status, message, code, (data && data.details) || null, field);
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body ?? {});
export const put = (path, body) => api("PUT", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

// Market data through /api/exchange/*: ordex's own markets are `exchangeId: "ordex"`.
export async function marketData(method, instrument, extra = {}) {
  const config = { exchangeId: instrument.exchange, marketType: instrument.marketType || "spot" };
  const result = await post(`/api/exchange/${method}`, { config, symbol: instrument.symbol, ...extra });
  return result.data;
}
