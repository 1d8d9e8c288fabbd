/* Live status for the device pages and the dashboard, over Channels WebSockets.
 *
 * Vanilla JS, no build step. Everything that comes from the server is put on
 * the page with textContent or attributes, never as HTML.
 */
(function () {
  "use strict";

  var FLIGHT = { DOWNLOADING: true, INPROGRESS: true };
  var MAX_LOG_LINES = 2000;

  function $(root, field) { return root.querySelector('[data-field="' + field + '"]'); }
  function $all(root, field) { return root.querySelectorAll('[data-field="' + field + '"]'); }
  function text(el, value) { if (el) { el.textContent = value == null ? "" : String(value); } }
  function el(tag, cls, value) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (value != null) { node.textContent = String(value); }
    return node;
  }

  /* The status as the page shows it ("template" for a revision no hardware will install). */
  function word(event) { return event.status_word || event.status; }

  function setBadge(badge, status, cls) {
    if (!badge) { return; }
    badge.textContent = status;
    badge.className = "badge " + (cls || "muted");
  }

  function connect(path, onEvent, onState) {
    var delay = 1000;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    function open() {
      var socket = new WebSocket(scheme + location.host + path);
      socket.onopen = function () { delay = 1000; if (onState) { onState(true); } };
      socket.onmessage = function (message) {
        var event;
        try { event = JSON.parse(message.data); } catch (e) { return; }
        onEvent(event);
      };
      socket.onclose = function (close) {
        if (onState) { onState(false); }
        // 4401/4404: not allowed to watch; trying again would not help.
        if (close.code === 4401 || close.code === 4404) { return; }
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
      };
    }
    open();
  }

  /* Presence: "online" is last_seen within the server's window; it lapses here too. */
  var onlineWindow = 120;
  function markSeen(root, lastSeen) {
    $all(root, "presence").forEach(function (node) {
      node.setAttribute("data-last-seen", lastSeen);
      if (node.textContent !== "template") {
        node.classList.add("on");
        node.textContent = "online";
      }
    });
    text($(root, "last-seen"), "last seen just now");
  }
  function expirePresence() {
    var now = Date.now();
    document.querySelectorAll('[data-field="presence"]').forEach(function (node) {
      var seen = Date.parse(node.getAttribute("data-last-seen") || "");
      if (node.classList.contains("on") && !(seen && now - seen <= onlineWindow * 1000)) {
        node.classList.remove("on");
        node.textContent = "offline";
      }
    });
  }

  function progressText(event) {
    return FLIGHT[event.status] ? event.progress + "%" : "";
  }

  /* One row of a revision table, built from an event. */
  function revisionRow(event, withCompare) {
    var row = el("tr", "flash");
    row.setAttribute("data-rev", event.rev);
    if (withCompare) {
      ["a", "b"].forEach(function (name) {
        var cell = el("td", "pick");
        var radio = document.createElement("input");
        radio.type = "radio"; radio.name = name; radio.value = event.rev;
        radio.setAttribute("aria-label", (name === "a" ? "Compare from rev " : "Compare to rev ") + event.rev);
        cell.appendChild(radio);
        row.appendChild(cell);
      });
    }
    var rev = el("td", "rev");
    var link = el("a", null, event.rev);
    link.href = event.url;
    rev.appendChild(link);
    row.appendChild(rev);
    row.appendChild(el("td", "msg", event.commit_msg || "—"));
    row.appendChild(el("td", null, event.author || "device"));
    var status = el("td");
    var badge = el("span");
    badge.setAttribute("data-field", "status");
    setBadge(badge, word(event), event.status_class);
    var progress = el("span", "muted small", progressText(event));
    progress.setAttribute("data-field", "progress");
    status.appendChild(badge);
    status.appendChild(document.createTextNode(" "));
    status.appendChild(progress);
    row.appendChild(status);
    row.appendChild(el("td", "when", "just now"));
    return row;
  }

  function setHead(root, event) {
    var head = $(root, "head");
    if (!head) { return; }
    var shown = $(root, "head-rev");
    var current = shown ? parseInt(shown.textContent, 10) : NaN;
    if (!isNaN(current) && event.rev < current) { return; }
    head.hidden = false;
    var empty = $(root, "head-empty");
    if (empty) { empty.hidden = true; }
    text($(root, "head-rev"), event.rev);
    if (event.url) { $(root, "head-link").href = event.url; }
    setBadge($(root, "head-status"), word(event), event.status_class);
    var bar = $(root, "head-progress");
    if (bar) {
      // A failed revision's bar is red and says so, never a full blue bar.
      bar.className = "progress " + (event.status_class || "muted");
      bar.setAttribute("aria-valuenow", event.progress || 0);
      bar.setAttribute("aria-valuetext", word(event) + " " + (event.progress || 0) + "%");
      bar.firstElementChild.style.width = (event.progress || 0) + "%";
    }
    text($(root, "head-status-msg"), event.status_msg || "");
  }

  function setRunning(root, event) {
    var running = $(root, "running");
    if (!running || !event.running) { return; }
    var shown = parseInt((running.getAttribute("data-rev") || "-1"), 10);
    if (event.rev < shown) { return; }
    running.setAttribute("data-rev", event.rev);
    running.textContent = "";
    var link = root.querySelector('tr[data-rev="' + event.rev + '"] td.rev a');
    if (link) {
      var copy = el("a", null, "rev " + event.rev);
      copy.href = link.href;
      running.appendChild(copy);
    } else {
      running.textContent = "rev " + event.rev;
    }
  }

  function onDeviceEvent(root, event) {
    if (event.type === "revision") {
      root.querySelectorAll('[data-field="revisions"]').forEach(function (table) {
        if (table.querySelector('tr[data-rev="' + event.rev + '"]')) { return; }
        table.hidden = false;
        var body = table.tBodies[0];
        body.insertBefore(revisionRow(event, table.hasAttribute("data-compare")), body.firstChild);
      });
      var empty = $(root, "revisions-empty");
      if (empty) { empty.hidden = true; }
      setHead(root, event);
    } else if (event.type === "progress") {
      root.querySelectorAll('tr[data-rev="' + event.rev + '"]').forEach(function (row) {
        setBadge($(row, "status"), word(event), event.status_class);
        text($(row, "progress"), progressText(event));
      });
      root.querySelectorAll('[data-live-rev="' + event.rev + '"]').forEach(function (badge) {
        setBadge(badge, word(event), event.status_class);
      });
      var headRev = $(root, "head-rev");
      if (headRev && String(event.rev) === headRev.textContent) { setHead(root, event); }
      setRunning(root, event);
      if (event.last_seen) { markSeen(root, event.last_seen); }
    } else if (event.type === "presence") {
      markSeen(root, event.last_seen);
    } else if (event.type === "log") {
      appendLogs(root, event.lines);
    }
  }

  function appendLogs(root, lines) {
    var box = $(root, "logs");
    if (!box) { return; }
    var stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    var placeholder = box.querySelector(".empty-line");
    if (placeholder) { placeholder.remove(); }
    lines.forEach(function (line) {
      var row = el("div", "line");
      var when = line.time ? line.time.replace("T", " ").slice(0, 19) : "";
      row.appendChild(el("span", "t", when));
      var level = el("span", "lvl", line.lvl);
      if (/^[A-Z]+$/.test(line.lvl || "")) { level.classList.add(line.lvl); }
      row.appendChild(level);
      row.appendChild(el("span", "src", line.plat ? line.src + " · " + line.plat : line.src));
      row.appendChild(el("span", "msg", line.msg));
      box.appendChild(row);
    });
    while (box.children.length > MAX_LOG_LINES) { box.removeChild(box.firstChild); }
    if (stick) { box.scrollTop = box.scrollHeight; }
  }

  function onDashboardEvent(root, event) {
    var row = root.querySelector('tr[data-device="' + event.device + '"]');
    if (!row) { return; }
    if (event.type === "revision") {
      $(row, "head").hidden = false;
      if ($(row, "head-empty")) { $(row, "head-empty").hidden = true; }
      text($(row, "head-rev"), event.rev);
      setBadge($(row, "head-status"), word(event), event.status_class);
    } else if (event.type === "progress") {
      if ($(row, "head-rev") && String(event.rev) === $(row, "head-rev").textContent) {
        setBadge($(row, "head-status"), word(event), event.status_class);
      }
      if (event.running) { text($(row, "running"), "rev " + event.rev); }
      if (event.last_seen) { markSeen(row, event.last_seen); text($(row, "seen"), "just now"); }
    } else if (event.type === "presence") {
      markSeen(row, event.last_seen);
      text($(row, "seen"), "just now");
    }
  }

  function liveIndicator(root) {
    return function (on) {
      var dot = $(root, "live");
      if (dot) { dot.classList.toggle("on", on); }
      text($(root, "live-label"), on ? "live" : "reconnecting…");
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var device = document.querySelector("[data-live-device]");
    var dashboard = document.querySelector("[data-live-dashboard]");
    var root = device || dashboard;
    if (!root) { return; }
    onlineWindow = parseInt(root.getAttribute("data-online-window"), 10) || onlineWindow;
    setInterval(expirePresence, 5000);
    var logs = root.querySelector("[data-live-logs]");
    if (logs) { logs.scrollTop = logs.scrollHeight; }
    if (device) {
      connect("/ws/devices/" + encodeURIComponent(device.getAttribute("data-live-device")) + "/",
        function (event) { onDeviceEvent(device, event); }, liveIndicator(device));
    } else {
      connect("/ws/dashboard/", function (event) { onDashboardEvent(dashboard, event); },
        liveIndicator(dashboard));
    }
    document.documentElement.setAttribute("data-live", "ready");
  });
})();
