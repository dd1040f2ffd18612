// The signal-rest console: fetches the server-rendered parts (/console/parts/*) and puts them
// in place, sends as an outside user on the sandbox. Plain script, no build step, no CDN.
//
// Query parameters: refresh=<seconds> (status and chat, default 5), link_refresh=<seconds>
// (the device-link code, default 45). A token can come as #token=<secret> (never sent to the
// server) or ?token=<secret>; it is kept in this tab's sessionStorage and removed from the URL.
"use strict";

(function () {
  const TOKEN_KEY = "signal-rest-console-token";
  const params = new URLSearchParams(location.search);
  const body = document.body;
  const $ = (id) => document.getElementById(id);

  function seconds(name, fallback) {
    const value = Number(params.get(name));
    return Number.isFinite(value) && value > 0 ? value : fallback;
  }

  const REFRESH = seconds("refresh", 5) * 1000;
  const LINK_REFRESH = seconds("link_refresh", 45) * 1000;

  function tokenFromUrl() {
    const hash = new URLSearchParams(location.hash.slice(1));
    const given = hash.get("token") || params.get("token");
    if (!given) return;
    sessionStorage.setItem(TOKEN_KEY, given);
    hash.delete("token");
    params.delete("token");
    const query = params.toString();
    const fragment = hash.toString();
    history.replaceState(
      null, "", location.pathname + (query ? "?" + query : "") + (fragment ? "#" + fragment : ""));
  }

  class NeedToken extends Error {}

  function askForToken(problem) {
    $("console").hidden = true;
    $("token").hidden = false;
    const shown = $("token-problem");
    shown.textContent = problem || "";
    shown.hidden = !problem;
    $("token-input").focus();
  }

  async function errorText(response) {
    try {
      const answer = await response.json();
      if (answer && typeof answer.error === "string") return answer.error;
    } catch (ignored) {
      // not the service's JSON error body
    }
    return `HTTP ${response.status}`;
  }

  // fetch() with the token; a 401 brings up the token form.
  async function call(path, options) {
    const headers = new Headers((options && options.headers) || {});
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.set("Authorization", "Bearer " + token);
    const response = await fetch(path, { ...options, headers, cache: "no-store" });
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken(await errorText(response));
      stopAll();
      throw new NeedToken();
    }
    if (!response.ok) throw new Error(await errorText(response));
    return response;
  }

  function showProblem(element, text) {
    const p = document.createElement("p");
    p.className = "problem";
    p.textContent = text;
    element.replaceChildren(p);
  }

  // Puts the HTML part at `path` into `element` (the server escaped every value in it), unless
  // `wanted()` says by then that it is no longer wanted (its loop was stopped or replaced).
  async function load(element, path, wanted) {
    try {
      const response = await call(path);
      const part = await response.text();
      if (!wanted()) return false;
      element.innerHTML = part;
      return true;
    } catch (error) {
      if (!(error instanceof NeedToken) && wanted()) showProblem(element, error.message);
      return false;
    }
  }

  // Named refresh loops: `work` runs, then again `interval` ms after it ended. Starting a loop
  // under a name ends the one before, even while its work is still waiting for an answer.
  const loops = {};

  function every(name, interval, work) {
    stop(name);
    const loop = { timer: 0 };
    loops[name] = loop;
    const alive = () => loops[name] === loop;
    const run = async () => {
      await work(alive);
      if (alive()) loop.timer = setTimeout(run, interval);
    };
    run();
  }

  function stop(name) {
    const loop = loops[name];
    if (loop) clearTimeout(loop.timer);
    delete loops[name];
  }

  function stopAll() {
    for (const name of Object.keys(loops)) stop(name);
  }

  // The service, its accounts and their inbox depth.
  function startStatus() {
    every("status", REFRESH, (alive) => load($("status"), "/console/parts/status", alive));
  }

  // The device-link code, renewed until Stop, at most LINK_RENEWALS times: each code is a link
  // signal-cli keeps open (and waits on) for a while, so a forgotten tab must not make more.
  const LINK_RENEWALS = 20;

  function startLink(event) {
    event.preventDefault();
    const name = $("device-name").value.trim();
    const path = "/console/parts/link?device_name=" + encodeURIComponent(name);
    let made = 0;
    $("link-stop").hidden = false;
    every("link", LINK_REFRESH, async (alive) => {
      if (made > 0 && document.hidden) return; // nobody is looking: keep the code shown
      if (made > LINK_RENEWALS) {
        stopLink();
        const note = document.createElement("p");
        note.className = "quiet";
        note.textContent = "Stopped renewing the code: press \u201cShow a link code\u201d again.";
        $("link").replaceChildren(note);
        return;
      }
      if (await load($("link"), path, alive)) made += 1;
    });
  }

  function stopLink() {
    stop("link");
    $("link-stop").hidden = true;
    $("link").replaceChildren();
  }

  // The sandbox chat: what the outside user received, and sending as them.
  function chatUser() {
    return $("chat-from").value.trim();
  }

  function startChat() {
    $("chat-who").textContent = chatUser();
    const path = "/console/parts/chat?user=" + encodeURIComponent(chatUser());
    every("chat", REFRESH, (alive) => load($("chat"), path, alive));
  }

  async function send(event) {
    event.preventDefault();
    const from = chatUser();
    if (from !== $("chat-who").textContent) startChat(); // sent before leaving the field
    const to = $("chat-to").value.trim();
    const message = $("chat-message").value;
    const result = $("chat-result");
    result.className = "";
    result.textContent = "Sending…";
    try {
      const response = await call("/v1/sandbox/send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ from, recipients: [to], message }),
      });
      const answer = await response.json();
      const item = document.createElement("li");
      item.className = "message";
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = `${from} → ${to} · ${new Date(Number(answer.timestamp)).toISOString()}`;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = message;
      item.append(meta, " ", text);
      $("chat-sent").append(item);
      result.textContent = `Sent (timestamp ${answer.timestamp}).`;
      $("chat-message").value = "";
    } catch (error) {
      if (error instanceof NeedToken) return;
      result.className = "problem";
      result.textContent = error.message;
    }
  }

  function start() {
    $("token").hidden = true;
    $("console").hidden = false;
    $("forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
    startStatus();
    if (body.dataset.sandbox === "true") startChat();
  }

  function useToken(event) {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token-input").value = "";
    start();
  }

  function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    stopAll();
    stopLink();
    askForToken("");
  }

  document.addEventListener("DOMContentLoaded", () => {
    tokenFromUrl();
    $("link-every").textContent = String(LINK_REFRESH / 1000);
    $("token-form").addEventListener("submit", useToken);
    $("forget-token").addEventListener("click", forgetToken);
    $("link-form").addEventListener("submit", startLink);
    $("link-stop").addEventListener("click", stopLink);
    if (body.dataset.sandbox === "true") {
      $("chat-form").addEventListener("submit", send);
      $("chat-from").addEventListener("change", startChat);
    }
    if (body.dataset.tokens === "on" && !sessionStorage.getItem(TOKEN_KEY)) {
      askForToken("");
    } else {
      start();
    }
  });
})();
