// Live updates over the WebSocket `/api/v1/ws`: the browser sends the `auth_token` cookie with the
// handshake, so the page never holds a token. Messages are `{type, timestamp, data}`; order,
// trade and position messages are re-dispatched on `bus` for the widgets.

export const bus = new EventTarget();

export function emit(type, detail) {
  bus.dispatchEvent(new CustomEvent(type, { detail }));
}

export function on(type, handler) {
  const listener = (event) => handler(event.detail);
  bus.addEventListener(type, listener);
  return () => bus.removeEventListener(type, listener);
}

const LIVE_TYPES = new Set(["order_update", "trade", "position_update", "notification", "system_status"]);

export class LiveConnection {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.socket = null;
    this.closed = false;
    this.retry = 500;
    this.timer = null;
    this.everOpen = false;
  }

  open() {
    this.closed = false;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/api/v1/ws`);
    this.socket = socket;
    this.onStatus("connecting");
    socket.addEventListener("open", () => {
      this.retry = 500;
      this.onStatus("live");
      if (this.everOpen) emit("live:reopen", {}); // messages may have been missed meanwhile
      this.everOpen = true;
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
        return;
      }
      if (LIVE_TYPES.has(message.type)) {
        emit(`live:${message.type}`, message.data);
        emit("live:any", message);
      }
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.closed) return;
      this.onStatus("offline");
      this.timer = setTimeout(() => this.open(), this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    });
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
    this.socket = null;
  }
}
