// Canopy's own script: what htmx does not do for the portal. Loaded with `defer` from our own
// origin (the CSP allows no inline script). Without it every page still works; it only keeps
// a form from being sent twice, holds back actions until there is a selection, opens and
// closes the tree's branches in place, closes the search's results, names each value of a
// table on a phone, and says so when a request fails.
(function () {
  "use strict";

  // A message in the page's live region (#flash), with a button to try again.
  function say(text, retry) {
    var box = document.getElementById("flash");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "notice failed";
    p.id = "flash-message";
    p.textContent = text + " ";
    if (retry) {
      var again = document.createElement("button");
      again.type = "button";
      again.id = "flash-retry";
      again.textContent = "Try again";
      again.addEventListener("click", function () {
        box.replaceChildren();
        retry();
      });
      p.append(again);
    }
    box.replaceChildren(p);
  }

  // Every htmx request carries the page's CSRF token as a header (the guard also takes it from
  // a form's field; a button outside a form has none).
  document.addEventListener("htmx:config:request", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var request = e.detail && e.detail.ctx && e.detail.ctx.request;
    if (meta && request && request.headers) request.headers["X-CSRF-Token"] = meta.content;
  });

  // A plain form (not one htmx sends) is sent once: while the page is leaving, a second click
  // or Enter does nothing, and its buttons say so. htmx's own requests use `data-hx-disable`.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if (form.dataset.sending) {
      e.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    // After this event: a button disabled now would leave its own name out of the form.
    setTimeout(function () {
      form.querySelectorAll("button:not([type=button])").forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });
  // Back to a page from the browser's cache: its forms may be sent again.
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      delete form.dataset.sending;
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    });
  });

  // After an in-place update the keyboard stays where the change happened: if the focus went
  // away with the old content (a button that was replaced, or disabled while it ran), it
  // lands on the first field the answer marks invalid, else on the new content's heading.
  // (htmx itself gives focus back to an element that kept its id, such as a search box.)
  document.addEventListener("htmx:after:settle", function (e) {
    var root = e.target;
    if (!(root instanceof Element) || !root.isConnected) return;
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    var spot = root.querySelector('[aria-invalid="true"]')
      || (root === document.body ? document.querySelector("main h1") : null)
      || root.querySelector("h1, h2, h3")
      || root;
    if (!spot.matches("a[href], button, input, select, textarea, [tabindex]")) {
      spot.setAttribute("tabindex", "-1");
    }
    spot.focus();
  });

  // On a phone a table is a card per row: each cell shows its column's name, from the table's
  // head, where the template did not write one.
  function labelCells() {
    document.querySelectorAll("table").forEach(function (table) {
      var head = table.tHead && table.tHead.rows[0];
      if (!head) return;
      var names = Array.prototype.map.call(head.cells, function (c) { return c.textContent.trim(); });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          Array.prototype.forEach.call(row.cells, function (cell) {
            var name = names[cell.cellIndex];
            if (name && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", name);
          });
        });
      });
    });
  }
  document.addEventListener("htmx:after:settle", labelCells);
  labelCells();

  // Actions on the ticked devices wait for a tick: their buttons stay disabled, and the hint
  // beside them counts what is ticked. (Without this script the server says what is missing.)
  function selectionChanged(form) {
    var buttons = form.querySelectorAll("[data-needs-selection]");
    if (!buttons.length) return;
    var n = form.querySelectorAll("input[type=checkbox][name=ids]:checked").length;
    buttons.forEach(function (b) { b.disabled = n === 0; });
    var hint = form.querySelector("[data-selection-hint]");
    if (hint) {
      hint.textContent = n === 0
        ? "Tick the devices to act on, then choose what to do with them."
        : n + (n === 1 ? " device ticked." : " devices ticked.");
    }
  }
  function allSelections() {
    document.querySelectorAll("form").forEach(selectionChanged);
  }
  document.addEventListener("change", function (e) {
    var form = e.target && e.target.form;
    if (form) selectionChanged(form);
  });
  document.addEventListener("htmx:after:settle", allSelections);
  window.addEventListener("pageshow", allSelections);
  allSelections();

  // The tree: a toggle opens its branch in place (loading it once) or closes it, and the
  // address keeps which branches are open (`?open=…`), so a reload or the back button shows
  // the tree as it was left. Without this script each toggle is a link doing the same.
  function openIds() {
    return new URLSearchParams(window.location.search).getAll("open");
  }
  function keepOpen(ids) {
    if (window.location.pathname !== "/tenants") return;
    var params = new URLSearchParams();
    ids.forEach(function (id) { params.append("open", id); });
    var query = params.toString();
    window.history.replaceState(window.history.state, "", "/tenants" + (query ? "?" + query : ""));
  }
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest && e.target.closest("a.expand[data-node]");
    if (!toggle || !window.htmx || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    var id = toggle.dataset.node;
    var branch = document.getElementById("children-" + id);
    if (!branch) return;
    var ids = openIds().filter(function (o) { return o !== id; });
    if (toggle.getAttribute("aria-expanded") === "true") {
      toggle.setAttribute("aria-expanded", "false");
      branch.hidden = true;
      keepOpen(ids);
      return;
    }
    toggle.setAttribute("aria-expanded", "true");
    branch.hidden = false;
    ids.push(id);
    keepOpen(ids);
    if (!branch.children.length) {
      toggle.setAttribute("aria-busy", "true");
      window.htmx.ajax("GET", "/tenants/" + id + "/children", { target: branch, swap: "innerHTML" })
        .finally(function () { toggle.removeAttribute("aria-busy"); });
    }
  });

  // The header's search results close with Escape, or when focus leaves the search.
  function closeQuick() {
    var quick = document.getElementById("search-quick");
    if (quick) quick.replaceChildren();
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && e.target.closest && e.target.closest("#search-form")) {
      closeQuick();
      var box = document.getElementById("search-q");
      if (box) box.focus();
    }
  });
  document.addEventListener("focusout", function (e) {
    var form = document.getElementById("search-form");
    if (form && form.contains(e.target) && !(e.relatedTarget && form.contains(e.relatedTarget))) {
      // After a click on a result has had its effect.
      setTimeout(function () {
        if (!form.contains(document.activeElement)) closeQuick();
      }, 200);
    }
  });

  function retryOf(detail) {
    var ctx = detail && detail.ctx;
    var source = ctx && ctx.sourceElement;
    var event = ctx && ctx.sourceEvent;
    if (!source || !source.isConnected || !window.htmx) {
      return function () { window.location.reload(); };
    }
    return function () { window.htmx.trigger(source, event ? event.type : "click"); };
  }

  // The network failed (no answer at all): nothing was changed on the portal's side that the
  // page knows of; say so and offer the same request again.
  document.addEventListener("htmx:error", function (e) {
    say("The portal could not be reached: check your connection, then try again.", retryOf(e.detail));
  });
  // The server failed (5xx): its page is shown in place; the live region says what to do.
  document.addEventListener("htmx:response:error", function (e) {
    var ctx = e.detail && e.detail.ctx;
    var status = ctx && ctx.response ? ctx.response.status : 0;
    if (status >= 500) {
      say("Something went wrong on the portal's side (" + status + "). Nothing was lost on this page; try again in a moment.", retryOf(e.detail));
    }
  });
})();
