// Keeps the status page current while it is open: every few seconds (the
// interval is main's data-refresh, in seconds), and when the tab becomes
// visible again, it fetches the page anew and swaps in the new <main>.
// It leaves the page alone while someone types in one of its forms, and
// marks the page stale when the bridge does not answer. The page works
// without it; the Content-Security-Policy allows only this same-origin file.
"use strict";
(function () {
	var main = document.querySelector("main[data-refresh]");
	if (!main || !window.fetch || !window.DOMParser) {
		return;
	}
	var every = (parseInt(main.getAttribute("data-refresh"), 10) || 15) * 1000;

	function busy() {
		var a = document.activeElement;
		if (a && main.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) {
			return true;
		}
		var fields = main.querySelectorAll("input:not([type=hidden]), textarea");
		for (var i = 0; i < fields.length; i++) {
			if (fields[i].value !== fields[i].defaultValue) {
				return true;
			}
		}
		return false;
	}

	function refresh() {
		if (document.hidden || busy()) {
			return;
		}
		fetch(location.href, { credentials: "same-origin", cache: "no-store" })
			.then(function (r) {
				if (!r.ok) {
					throw new Error("HTTP " + r.status);
				}
				return r.text();
			})
			.then(function (html) {
				var next = new DOMParser().parseFromString(html, "text/html").querySelector("main[data-refresh]");
				document.body.classList.remove("stale");
				if (!next || busy()) {
					return;
				}
				var nodes = Array.prototype.map.call(next.childNodes, function (n) {
					return document.importNode(n, true);
				});
				main.replaceChildren.apply(main, nodes);
			})
			.catch(function () {
				document.body.classList.add("stale");
			});
	}

	setInterval(refresh, every);
	document.addEventListener("visibilitychange", function () {
		if (!document.hidden) {
			refresh();
		}
	});
})();
