// A small Socket.IO v4 client over the WebSocket transport only (Engine.IO v4 framing), enough for
// the server's events: the browser sends the `auth_token` cookie with the upgrade and the server
// answers `authenticated` at connect, so the page never holds a token.
//
// Engine.IO packets: `0{open}` (pingInterval, pingTimeout), `2` ping -> `3` pong, `4` message.
// Socket.IO packets inside a message: `0` connect, `1` disconnect, `2` event `["name", data]`,
// `3` ack, `4` connect_error.

const EIO_OPEN = "0";
const EIO_CLOSE = "1";
const EIO_PING = "2";
const EIO_PONG = "3";
const EIO_MESSAGE = "4";
const SIO_CONNECT = "0";
const SIO_DISCONNECT = "1";
const SIO_EVENT = "2";
const SIO_ACK = "3";
const SIO_CONNECT_ERROR = "4";

export class SocketIOClient {
  constructor({ path = "/socket.io/", minDelay = 500, maxDelay = 10000 } = {}) {
    this.path = path;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.delay = minDelay;
    this.socket = null;
    this.connected = false; // the Socket.IO namespace is joined
    this.closed = true;
    this.handlers = new Map(); // event name -> Set of handlers
    this.acks = new Map();
    this.nextAck = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.frames = 0; // event packets received, for diagnostics
    // Emits made before the namespace is joined: the server may send events (`authenticated`)
    // ahead of its CONNECT packet, and what they trigger is sent once it arrives.
    this.sendBuffer = [];
  }

  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(handler);
    return () => this.handlers.get(event)?.delete(handler);
  }

  fire(event, ...args) {
    for (const handler of [...(this.handlers.get(event) || [])]) {
      try {
        handler(...args);
      } catch (err) {
        console.warn(`socket.io handler for ${event} failed`, err);
      }
    }
  }

  open() {
    if (!this.closed) return;
    this.closed = false;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${this.path}?EIO=4&transport=websocket`);
    this.socket = socket;
    this.fire("status", "connecting");
    socket.addEventListener("message", (event) => {
      if (this.socket === socket && typeof event.data === "string") this.receive(event.data);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.dropped();
    });
  }

  receive(text) {
    const kind = text[0];
    const rest = text.slice(1);
    if (kind === EIO_OPEN) {
      let open = {};
      try { open = JSON.parse(rest); } catch { /* defaults */ }
      this.pingDeadline = (open.pingInterval || 25000) + (open.pingTimeout || 20000);
      this.armPing();
      this.send(EIO_MESSAGE + SIO_CONNECT);
    } else if (kind === EIO_PING) {
      this.armPing();
      this.send(EIO_PONG);
    } else if (kind === EIO_CLOSE) {
      this.socket.close();
    } else if (kind === EIO_MESSAGE) {
      this.packet(rest);
    }
  }

  packet(text) {
    const type = text[0];
    let body = text.slice(1);
    if (body.startsWith("/")) body = body.slice(body.indexOf(",") + 1); // namespace: only "/" here
    const digits = /^\d+/.exec(body);
    const id = digits ? Number(digits[0]) : null;
    if (digits) body = body.slice(digits[0].length);
    let data = null;
    if (body) {
      try { data = JSON.parse(body); } catch { return; }
    }
    if (type === SIO_CONNECT) {
      this.connected = true;
      this.delay = this.minDelay;
      const buffered = this.sendBuffer;
      this.sendBuffer = [];
      buffered.forEach((text) => this.send(text));
      this.fire("status", "live");
      this.fire("connect", data);
    } else if (type === SIO_EVENT && Array.isArray(data)) {
      this.frames += 1;
      const [name, ...args] = data;
      if (id !== null) args.push((...reply) => this.send(`${EIO_MESSAGE}${SIO_ACK}${id}${JSON.stringify(reply)}`));
      this.fire(name, ...args);
    } else if (type === SIO_ACK && id !== null) {
      const callback = this.acks.get(id);
      this.acks.delete(id);
      if (callback) callback(...(data || []));
    } else if (type === SIO_CONNECT_ERROR) {
      this.fire("connect_error", data);
      this.socket.close();
    } else if (type === SIO_DISCONNECT) {
      this.socket.close();
    }
  }

  // A server that stops pinging is gone even if the TCP connection looks open.
  armPing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => this.socket && this.socket.close(), this.pingDeadline);
  }

  send(text) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  emit(event, data, ack) {
    if (!this.socket) return false;
    let id = "";
    if (typeof ack === "function") {
      this.nextAck += 1;
      id = String(this.nextAck);
      this.acks.set(this.nextAck, ack);
    }
    const text = `${EIO_MESSAGE}${SIO_EVENT}${id}${JSON.stringify(data === undefined ? [event] : [event, data])}`;
    if (this.connected) this.send(text);
    else this.sendBuffer.push(text);
    return true;
  }

  dropped() {
    const was = this.connected;
    this.socket = null;
    this.connected = false;
    this.sendBuffer = [];
    this.acks.clear();
    clearTimeout(this.pingTimer);
    if (was) this.fire("disconnect");
    if (this.closed) return;
    this.fire("status", "offline");
    this.retryTimer = setTimeout(() => this.connect(), this.delay * (0.75 + Math.random() / 2));
    this.delay = Math.min(this.delay * 2, this.maxDelay);
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    const socket = this.socket;
    if (socket) {
      this.send(EIO_MESSAGE + SIO_DISCONNECT);
      socket.close();
    }
    this.dropped();
  }
}

// ----- market feeds ------------------------------------------------------------------------------
// One shared connection; widgets ask for a feed and get its `data` payloads. Feeds are counted,
// so two widgets on one feed share a subscription, and they are subscribed again after a
// reconnect (the server forgets a socket's rooms when it goes).

let shared = null;
const feeds = new Map(); // subscription id -> {request, listeners: Set, errors: Set}
let authenticated = false;

export function feedId({ exchangeId, marketType = "spot", symbol, dataType, timeframe = "1m" }) {
  const parts = [exchangeId.toLowerCase(), marketType, symbol || "", dataType];
  if (dataType === "ohlcv") parts.push(timeframe);
  return parts.join(":");
}

export function marketSocket() {
  if (shared) return shared;
  shared = new SocketIOClient();
  shared.on("authenticated", () => {
    authenticated = true;
    for (const feed of feeds.values()) shared.emit("subscribe", feed.request);
  });
  shared.on("disconnect", () => { authenticated = false; });
  shared.on("data", (message) => {
    const feed = message && feeds.get(message.subscriptionId);
    if (feed) feed.listeners.forEach((listener) => listener(message.data, message));
  });
  shared.on("error", (message) => {
    const feed = message && feeds.get(message.subscriptionId);
    if (feed) feed.errors.forEach((listener) => listener(message));
  });
  shared.open();
  return shared;
}

// Subscribes to a market feed; `onData(data, message)` gets each update. Returns the unsubscribe.
export function subscribeFeed(spec, onData, onError = () => {}) {
  const socket = marketSocket();
  const id = feedId(spec);
  let feed = feeds.get(id);
  if (!feed) {
    const request = {
      exchangeId: spec.exchangeId, symbol: spec.symbol, dataType: spec.dataType,
      config: { exchangeId: spec.exchangeId, marketType: spec.marketType || "spot", ccxtType: "regular" },
    };
    if (spec.dataType === "ohlcv") request.timeframe = spec.timeframe || "1m";
    feed = { request, listeners: new Set(), errors: new Set() };
    feeds.set(id, feed);
    if (authenticated) socket.emit("subscribe", request);
  }
  feed.listeners.add(onData);
  feed.errors.add(onError);
  return () => {
    feed.listeners.delete(onData);
    feed.errors.delete(onError);
    if (feed.listeners.size || feeds.get(id) !== feed) return;
    feeds.delete(id);
    if (authenticated) socket.emit("unsubscribe", { subscriptionId: id });
  };
}

export function closeMarketSocket() {
  if (shared) shared.close();
  shared = null;
  authenticated = false;
  feeds.clear();
}

// The feeds are flowing: the socket is up and signed in.
export function feedsLive() {
  return authenticated && shared !== null && shared.connected;
}
