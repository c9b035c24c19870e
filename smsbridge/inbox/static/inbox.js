// smsbridge inbox: the page. No framework, no build step, nothing fetched but this origin.
// Message texts are untrusted: they reach the DOM through textContent only, never as HTML.
"use strict";

(function () {
  const state = {
    selected: null, // the number whose conversation is open
    query: "",
    info: null,
    busy: false,
    again: false,
  };
  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    if (response.status === 401) {
      notice("This inbox is protected by a token: open it as /?token=YOUR_TOKEN once.");
      throw new Error("unauthorised");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
    return data;
  }

  function notice(text) {
    const box = $("notice");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  const STATUS = {
    pending: "◷ pending",
    delivered: "✓✓ delivered",
    failed: "✗ not delivered",
    rejected: "✗ not sent",
  };

  // -- the list of numbers -------------------------------------------------------------------

  function renderConversations(conversations) {
    const list = $("conversations");
    const items = [];
    for (const conversation of conversations) {
      const latest = conversation.latest;
      const button = el("button", "conversation");
      button.type = "button";
      button.dataset.number = conversation.number;
      button.setAttribute("aria-current", String(conversation.number === state.selected));
      const number = el("span", "number", conversation.number);
      number.dir = "ltr";
      const when = el("span", "when", clock(latest.created_at));
      const snippet = el("span", "snippet", latest.text);
      snippet.dir = "auto";
      const count = el("span", "count", conversation.count);
      count.title = conversation.count + " message(s)";
      button.append(number, when, snippet);
      button.append(count);
      button.addEventListener("click", () => select(conversation.number));
      const item = el("li");
      item.append(button);
      items.push(item);
    }
    list.replaceChildren(...items);
    $("no-conversations").hidden = conversations.length > 0;
  }

  // -- one conversation, as the handset shows it ---------------------------------------------

  function bubble(message) {
    const item = el("li", "bubble incoming");
    item.dataset.id = String(message.id);
    item.dataset.status = message.status;
    item.dataset.direction = message.direction;
    if (message.flash) item.classList.add("flash");
    if (message.status === "rejected") item.classList.add("rejected");
    if (state.query && matches(message, state.query)) item.classList.add("match");

    const from = el("p", "from");
    const line = el("span", "line", message.sender || "default line");
    line.dir = "ltr";
    from.append(line, document.createTextNode(" · " + message.provider));
    const text = el("p", "text", message.text);
    text.dir = "auto"; // Persian reads right to left, English left to right, each as typed

    const meta = el("div", "meta");
    meta.append(el("span", "time", clock(message.created_at)));
    meta.append(el("span", "parts tag", message.segments + (message.segments === 1 ? " part" : " parts") + " · " + message.encoding));
    if (message.flash) meta.append(el("span", "tag flash-tag", "flash"));
    if (message.template_id) meta.append(el("span", "tag template", "template " + message.template_id));
    if (message.campaign) meta.append(el("span", "tag campaign", "campaign " + message.campaign));
    else if (message.reference) meta.append(el("span", "tag reference", "ref " + message.reference));
    if (message.chaos) meta.append(el("span", "tag chaos-tag", "chaos"));
    let label = STATUS[message.status] || message.status;
    if (message.status === "rejected" && message.error) label += ": " + message.error;
    meta.append(el("span", "status " + message.status, label));
    if (message.status !== "rejected" && message.error === "outcome_unknown") {
      meta.append(el("span", "tag unknown", "reply lost: sender saw unknown"));
    }
    if (message.message_id) {
      const id = el("span", "message-id", message.message_id);
      id.dir = "ltr";
      meta.append(id);
    }
    item.append(from, text, meta);
    return item;
  }

  function matches(message, query) {
    const q = query.toLowerCase();
    return message.text.toLowerCase().includes(q) || (message.sender || "").toLowerCase().includes(q);
  }

  function renderThread(data) {
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...data.messages.map(bubble));
    $("thread-number").textContent = data.number;
    $("thread-count").textContent = data.messages.length + " message(s)";
    $("clear-number").hidden = false;
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function clearThread() {
    $("messages").replaceChildren();
    $("thread-number").textContent = "Pick a number";
    $("thread-count").textContent = "";
    $("clear-number").hidden = true;
  }

  function select(number) {
    state.selected = number;
    for (const button of document.querySelectorAll(".conversation")) {
      button.setAttribute("aria-current", String(button.dataset.number === number));
    }
    refresh();
  }

  // -- chaos ---------------------------------------------------------------------------------

  function renderRules(rules) {
    const list = $("chaos-rules");
    list.replaceChildren(
      ...rules.map((rule) => {
        const item = el("li", "rule");
        item.dataset.id = String(rule.id);
        const which = rule.remaining === null ? "every send" : "next " + rule.remaining + " send(s)";
        const share = rule.share < 1 ? ", " + Math.round(rule.share * 100) + "% of them" : "";
        const where = rule.provider === "*" ? "any provider" : rule.provider;
        item.append(el("span", "", rule.category + " · " + which + share + " · " + where));
        const remove = el("button", "disarm", "×");
        remove.type = "button";
        remove.title = "Disarm";
        remove.addEventListener("click", () => act(api("DELETE", "/api/v1/chaos/" + rule.id)));
        item.append(remove);
        return item;
      }),
    );
    $("no-rules").hidden = rules.length > 0;
  }

  async function arm(event) {
    event.preventDefault();
    const mode = document.querySelector("input[name=mode]:checked").value;
    const body = { category: $("chaos-category").value, provider: $("chaos-provider").value };
    if (mode === "share") {
      body.share = Number($("chaos-share").value) / 100;
      body.count = null;
    } else {
      body.count = Number($("chaos-count").value);
    }
    await act(api("POST", "/api/v1/chaos", body));
  }

  function renderInfo(info) {
    const categories = $("chaos-category");
    categories.replaceChildren(
      ...info.categories.map((category) => {
        const option = el("option", "", category.label);
        option.value = category.value;
        return option;
      }),
    );
    const providers = $("chaos-provider");
    const any = el("option", "", "any");
    any.value = "*";
    providers.replaceChildren(
      any,
      ...info.providers.map((name) => {
        const option = el("option", "", name);
        option.value = name;
        return option;
      }),
    );
    $("send-url").textContent = info.send_url;
    const services = $("services");
    const service = (name, address) => {
      const item = el("li", "", name + " ");
      item.append(el("code", "", address));
      return item;
    };
    services.replaceChildren(
      service("fake:", info.send_url),
      ...info.services.map((hosted) => service(hosted.name + " emulator:", hosted.url)),
    );
  }

  // -- refreshing ----------------------------------------------------------------------------

  async function act(promise) {
    try {
      await promise;
      notice("");
    } catch (error) {
      if (error.message !== "unauthorised") notice(error.message);
    }
    refresh();
  }

  async function refresh() {
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    try {
      const q = encodeURIComponent(state.query);
      const [conversations, rules] = await Promise.all([
        api("GET", "/api/v1/conversations?q=" + q),
        api("GET", "/api/v1/chaos"),
      ]);
      renderConversations(conversations.conversations);
      renderRules(rules.rules);
      const number = state.selected;
      if (number) {
        const known = conversations.conversations.some((c) => c.number === number);
        if (known || !state.query) {
          const thread = await api("GET", "/api/v1/conversations/" + encodeURIComponent(number));
          // The user may have picked another number, or cleared this one, meanwhile.
          if (state.selected === number) {
            if (thread.messages.length) renderThread(thread);
            else {
              state.selected = null;
              clearThread();
            }
          }
        }
      }
      if (!state.selected) clearThread();
      document.body.dataset.revision = String(state.revision || 0);
    } catch (error) {
      if (error.message !== "unauthorised") notice("The inbox cannot be reached: " + error.message);
    } finally {
      state.busy = false;
      if (state.again) {
        state.again = false;
        refresh();
      }
    }
  }

  function listen() {
    const live = $("live");
    let fallback = null;
    const source = new EventSource("/api/v1/events");
    source.addEventListener("open", () => {
      live.textContent = "live";
      live.classList.add("on");
      if (fallback) clearInterval(fallback);
      fallback = null;
    });
    source.addEventListener("change", (event) => {
      state.revision = Number(event.data);
      refresh();
    });
    source.addEventListener("error", () => {
      live.textContent = "reconnecting…";
      live.classList.remove("on");
      if (!fallback) fallback = setInterval(refresh, 2000); // poll until the stream is back
    });
  }

  async function start() {
    let timer = null;
    $("search").addEventListener("input", (event) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        state.query = event.target.value.trim();
        refresh();
      }, 150);
    });
    $("clear-all").addEventListener("click", () => {
      if (confirm("Delete every message in the inbox?")) {
        state.selected = null;
        clearThread();
        act(api("DELETE", "/api/v1/messages"));
      }
    });
    $("clear-number").addEventListener("click", () => {
      if (!state.selected) return;
      const number = state.selected;
      state.selected = null;
      clearThread();
      act(api("DELETE", "/api/v1/conversations/" + encodeURIComponent(number)));
    });
    $("chaos-form").addEventListener("submit", arm);
    try {
      state.info = await api("GET", "/api/v1/info");
      renderInfo(state.info);
    } catch (error) {
      if (error.message !== "unauthorised") notice("The inbox cannot be reached: " + error.message);
      return;
    }
    await refresh();
    listen();
  }

  start();
})();
