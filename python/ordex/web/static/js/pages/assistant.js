// The assistant: a chat about one flow (`#/assistant/<flowId>`), its answer streamed from
// `POST /api/chat` as Server-Sent Events (read with fetch's stream reader: EventSource cannot
// POST), a proposed flow change offered as "Apply to flow"; and the person's Anthropic key
// (saved once, shown back only as its hint).
import { ApiError, del, get, post, put } from "../api.js";
import { h, replaceChildren } from "../dom.js";

const HISTORY_TURNS = 100; // sent back with each question (the API takes up to 200)

// Server-Sent Events from a fetch response body: calls onEvent({event, data}) per event.
export async function readEvents(response, onEvent, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = { event: "message", data: [] };
  const line = (text) => {
    if (text === "") {
      if (event.data.length) onEvent({ event: event.event, data: event.data.join("\n") });
      event = { event: "message", data: [] };
    } else if (text.startsWith(":")) {
      // a comment: the server's keep-alive ping
    } else {
      const colon = text.indexOf(":");
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? "" : text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event.event = value;
      else if (field === "data") event.data.push(value);
    }
  };
  while (!signal?.aborted) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    lines.forEach(line);
  }
  if (buffer) line(buffer);
  line("");
}

async function errorOf(response) {
  let data = null;
  try { data = await response.json(); } catch { /* not JSON */ }
  const err = data && data.error;
  const message = typeof err === "string" ? err : (err && err.message) || `Request failed (${response.status})`;
  const code = typeof err === "string" ? data.code : err && err.code;
  if (response.status === 401) window.dispatchEvent(new CustomEvent("ordex:unauthenticated"));
  return new ApiError(response.status, message, code || null);
}

// The AI key: its hint, a form to save or replace it, and remove.
function keySettings(onChange) {
  const status = h("p", { id: "ai-key-status", role: "status" });
  const input = h("input", {
    type: "password", id: "ai-key-input", name: "apiKey", autocomplete: "off", required: true,
    placeholder: "sk-ant-…", spellcheck: false,
  });
  const error = h("p", { class: "form-error", role: "alert" });
  const remove = h("button", { type: "button", class: "danger", id: "ai-key-delete", onclick: async () => {
    error.textContent = "";
    try { await del("/api/ai-keys"); await refresh(); } catch (err) { error.textContent = err.message; }
  } }, "Remove key");
  const form = h("form", { class: "inline-form", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    const save = form.querySelector("button[type=submit]");
    save.disabled = true;
    try {
      await post("/api/ai-keys", { apiKey: input.value.trim() });
      input.value = ""; // the key is never kept in the page
      await refresh();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  } }, h("label", { htmlFor: input.id }, "Anthropic API key"), input, h("button", { type: "submit" }, "Save key"));
  async function refresh() {
    const { hasKey, hint } = await get("/api/ai-keys");
    status.textContent = hasKey ? `Saved key: ${hint}` : "No key saved: the assistant needs one.";
    status.dataset.hasKey = String(hasKey);
    remove.hidden = !hasKey;
    onChange(hasKey);
  }
  const el = h("section", { class: "ai-keys", "aria-labelledby": "ai-keys-title" },
    h("h2", { id: "ai-keys-title" }, "AI key"), status, form, remove, error);
  return { el, ready: refresh() };
}

function proposalCard(proposal, flow, onApplied) {
  const note = h("p", { role: "status" });
  const card = h("div", { class: "proposal", dataset: { valid: String(proposal.valid) } },
    h("strong", {}, `Proposed change: ${proposal.summary || "(no summary)"}`));
  if (!proposal.valid) {
    const err = proposal.error || {};
    const node = err.details && err.details.node ? ` (node ${err.details.node})` : "";
    card.append(h("p", { class: "widget-error" }, `Not valid${node}: ${err.error || "refused by the flow checker"}`));
    return card;
  }
  const doc = proposal.document || {};
  card.append(h("p", { class: "muted" },
    `${(doc.nodes || []).length} nodes, ${(doc.edges || []).length} edges`));
  const apply = h("button", { type: "button", class: "primary", onclick: async () => {
    apply.disabled = true;
    try {
      const current = await get(`/api/flows/${encodeURIComponent(flow.id)}`);
      const saved = await put(`/api/flows/${encodeURIComponent(flow.id)}`, {
        name: current.name, description: current.description, ...doc,
      });
      note.textContent = "Applied to the flow";
      onApplied(saved);
    } catch (err) {
      apply.disabled = false;
      note.textContent = `Not applied: ${err.message}`;
    }
  } }, "Apply to flow");
  card.append(apply, note);
  return card;
}

async function mount(container, ctx) {
  const { flows } = await get("/api/flows");
  const flowId = ctx.params[0] || (flows[0] && flows[0].id) || null;
  const flow = flows.find((f) => f.id === flowId) || null;
  const picker = h("select", { id: "assistant-flow", onchange: () => ctx.navigate(`/assistant/${picker.value}`) },
    flows.length ? flows.map((f) => h("option", { value: f.id, selected: f.id === flowId }, f.name))
      : h("option", { value: "" }, "No flows yet"));
  const log = h("ol", { class: "chat-log", "aria-label": "Conversation", "aria-live": "polite" });
  const question = h("textarea", { id: "assistant-input", name: "question", rows: 3, required: true, maxLength: 100000 });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const stop = h("button", { type: "button", hidden: true }, "Stop");
  const error = h("p", { class: "form-error", role: "alert" });
  const clear = h("button", { type: "button", id: "assistant-clear", disabled: !flow }, "Clear conversation");
  let history = []; // {role, content}, oldest first
  let controller = null;

  const bubble = (role, text) => h("li", { class: `chat-message ${role}`, dataset: { role } }, text);

  async function loadHistory() {
    if (!flow) return;
    const { messages } = await get(`/api/chat/messages?flowId=${encodeURIComponent(flow.id)}`);
    history = messages.map((m) => ({ role: m.role, content: m.content }));
    replaceChildren(log, messages.map((m) => bubble(m.role, m.content)));
  }

  async function ask(text) {
    error.textContent = "";
    history.push({ role: "user", content: text });
    log.append(bubble("user", text));
    const answer = bubble("assistant", "");
    answer.setAttribute("aria-busy", "true");
    log.append(answer);
    let content = "";
    controller = new AbortController();
    send.disabled = true;
    stop.hidden = false;
    try {
      const response = await fetch("/api/chat", {
        method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ messages: history.slice(-HISTORY_TURNS), ...(flow ? { flowId: flow.id } : {}) }),
      });
      if (!response.ok) throw await errorOf(response);
      await readEvents(response, ({ event, data }) => {
        if (data === "[DONE]") { answer.dataset.done = "true"; return; }
        let payload;
        try { payload = JSON.parse(data); } catch { return; }
        if (event === "flow_proposal" && payload.proposal) {
          log.append(h("li", { class: "chat-proposal" }, proposalCard(payload.proposal, flow || {}, () => {})));
        } else if (event === "error") {
          log.append(bubble("error", `${payload.error}${payload.code ? ` (${payload.code})` : ""}`));
        } else if (typeof payload.text === "string") {
          content += payload.text;
          answer.textContent = content;
        }
      }, controller.signal);
      if (content) history.push({ role: "assistant", content });
      else answer.remove();
    } catch (err) {
      if (!content) answer.remove();
      history.pop();
      if (err.name !== "AbortError") {
        error.textContent = err.code === "AI_KEY_REQUIRED" ? `${err.message}: save your Anthropic key below.` : err.message;
      }
    } finally {
      answer.removeAttribute("aria-busy");
      controller = null;
      send.disabled = false;
      stop.hidden = true;
    }
  }

  stop.addEventListener("click", () => controller && controller.abort());
  clear.addEventListener("click", async () => {
    try {
      await del(`/api/chat/messages?flowId=${encodeURIComponent(flow.id)}`);
      history = [];
      replaceChildren(log);
    } catch (err) { error.textContent = err.message; }
  });
  const form = h("form", { class: "chat-form", onsubmit: (e) => {
    e.preventDefault();
    const text = question.value.trim();
    if (!text || controller) return;
    question.value = "";
    ask(text);
  } }, h("label", { htmlFor: question.id, class: "sr-only" }, "Ask the assistant"), question, send, stop);
  question.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  const keys = keySettings(() => {});
  replaceChildren(container, h("div", { class: "defi-page" },
    h("div", { class: "page-head" }, h("h1", {}, "Assistant"),
      h("label", { htmlFor: picker.id }, "Flow"), picker, clear),
    h("div", { class: "chat" }, log, form), error, keys.el));
  await Promise.all([loadHistory(), keys.ready]);
  return { destroy() { if (controller) controller.abort(); } };
}

export const page = { id: "assistant", title: "Assistant", path: "/assistant", order: 70, mount };
