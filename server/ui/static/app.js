// cairn's web UI script: keyboard navigation, live detections and the
// login link. Pages work without it. Every string from the server is
// inserted as text (textContent), never as markup.
"use strict";

(function () {
  // Login link: /login#token=SECRET fills the form and submits it; the
  // fragment never reaches the server or its logs.
  const login = document.getElementById("login");
  if (login && location.hash.startsWith("#token=")) {
    const secret = decodeURIComponent(location.hash.slice("#token=".length));
    history.replaceState(null, "", location.pathname + location.search);
    login.elements.token.value = secret;
    login.submit();
  }

  // Keyboard: / search, j/k move through rows, Enter opens, g the feed.
  const rows = () => Array.from(document.querySelectorAll("tr.row"));
  let sel = -1;
  function select(i) {
    const rs = rows();
    if (!rs.length) return;
    sel = Math.max(0, Math.min(rs.length - 1, i));
    rs.forEach((r, j) => r.classList.toggle("sel", j === sel));
    rs[sel].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) {
      if (e.key === "Escape") t.blur();
      return;
    }
    const q = document.getElementById("q");
    switch (e.key) {
      case "/": if (q) { e.preventDefault(); q.focus(); q.select(); } break;
      case "j": select(sel + 1); break;
      case "k": select(sel - 1); break;
      case "Enter": { const r = rows()[sel]; if (r) location.href = r.dataset.href; break; }
      case "g": location.href = "/"; break;
    }
  });
  document.addEventListener("click", (e) => {
    const r = e.target.closest && e.target.closest("tr.row");
    if (r && !e.target.closest("a")) location.href = r.dataset.href;
  });

  // Live detections: new groups (and groups that grew) arrive at the top.
  const live = document.getElementById("live");
  const feed = document.querySelector("#feed tbody");
  if (live && feed && window.EventSource) {
    const es = new EventSource(live.dataset.stream);
    es.addEventListener("open", () => live.classList.remove("off"));
    es.addEventListener("error", () => live.classList.add("off"));
    es.addEventListener("ended", () => { es.close(); live.classList.add("off"); });
    es.addEventListener("detection", (msg) => {
      let d;
      try { d = JSON.parse(msg.data); } catch (_) { return; }
      const href = "/detections/" + encodeURIComponent(d.id);
      const old = feed.querySelector('tr[data-href="' + CSS.escape(href) + '"]');
      if (old) old.remove();
      const empty = feed.querySelector("tr.empty");
      if (empty) empty.remove();
      const tr = document.createElement("tr");
      tr.className = "row fresh";
      tr.dataset.href = href;
      const cell = (text, cls) => {
        const td = document.createElement("td");
        if (cls) td.className = cls;
        td.textContent = text;
        tr.appendChild(td);
        return td;
      };
      const tm = document.createElement("time");
      tm.setAttribute("datetime", d.time);
      tm.title = String(d.time).replace("T", " ").replace(/\..*$|Z$/, "") + " UTC";
      tm.textContent = tm.title;
      if (window.cairnLocalTime) window.cairnLocalTime(tm);
      cell("", "nowrap").appendChild(tm);
      const sev = document.createElement("span");
      sev.className = "badge sev-" + d.severity;
      sev.textContent = d.severity;
      cell("").appendChild(sev);
      const a = document.createElement("a");
      a.href = href;
      a.textContent = d.rule;
      cell("").appendChild(a);
      cell(d.output.length > 160 ? d.output.slice(0, 160) + "…" : d.output, "out");
      cell(d.where, "where");
      const st = document.createElement("span");
      st.className = "status st-" + String(d.status).replace(" ", "_");
      st.textContent = d.status;
      cell("").appendChild(st);
      cell(String(d.count), "num");
      feed.insertBefore(tr, feed.firstChild);
      sel = sel >= 0 ? sel + 1 : sel;
    });
  }
})();

// Times: shown in the viewer's zone; the title keeps UTC for hover.
(function () {
  const pad = (n) => String(n).padStart(2, "0");
  const zone = (() => {
    try {
      const parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(new Date());
      const z = parts.find((p) => p.type === "timeZoneName");
      return z ? z.value : "";
    } catch (_) { return ""; }
  })();
  window.cairnLocalTime = function (el) {
    const d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) return;
    el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + (zone ? " " + zone : "");
  };
  document.querySelectorAll("time[datetime]").forEach(window.cairnLocalTime);
})();

// Copy buttons on command and policy blocks.
(function () {
  document.querySelectorAll("pre.copy").forEach((pre) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "copy-button";
    b.textContent = "Copy";
    b.addEventListener("click", () => {
      const done = () => { b.textContent = "Copied"; setTimeout(() => { b.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(pre.textContent).then(done, () => { b.textContent = "Select and copy"; });
      }
    });
    pre.parentNode.insertBefore(b, pre);
  });
})();
