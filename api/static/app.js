// The pages' few behaviours, kept out of the HTML so that the Content-Security-Policy can
// forbid inline scripts ("script-src 'self'"). Everything works without it except these.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // <button data-print>: print the page (the receipt).
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }

  // <form data-confirm="question">: ask before sending (withdrawal, rejection).
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // The receipt's QR code opens /status/{no}#code=…: the query code travels in the fragment,
  // which browsers never send to a server. Fill it in, drop it from the address bar and look
  // the application up.
  const lookup = document.querySelector("form[data-code-from-fragment]");
  const code = new URLSearchParams(location.hash.slice(1)).get("code");
  if (lookup && code) {
    lookup.querySelector("[name=code]").value = code;
    history.replaceState(null, "", location.pathname + location.search);
    lookup.submit();
  }
});
