// The declarations page: drop several certificate files, edit the lines, check the declaration
// through the API (POST /api/v1/declarations, multipart, with the officer's session) and show each
// line's decision. Loaded with the page's CSP nonce; no inline handlers, nothing external.
"use strict";

(function () {
  const form = document.getElementById("declaration-form");
  if (!form) return;
  const files = [];
  const drop = document.getElementById("drop-zone");
  const input = document.getElementById("files");
  const list = document.getElementById("file-list");
  const rows = document.getElementById("line-rows");
  const template = document.getElementById("line-template");

  function addFiles(chosen) {
    for (const file of chosen) files.push(file);
    list.replaceChildren(
      ...files.map((file, index) => {
        const item = document.createElement("li");
        item.textContent = `${index + 1}. ${file.name}`;
        return item;
      })
    );
  }

  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    addFiles(event.dataTransfer.files);
  });
  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });

  function renumber() {
    rows.querySelectorAll("tr").forEach((row, index) => {
      row.querySelector(".line-no").textContent = String(index + 1);
    });
  }

  function addLine() {
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelector(".remove-line").addEventListener("click", () => {
      row.remove();
      renumber();
    });
    rows.appendChild(row);
    renumber();
  }
  document.getElementById("add-line").addEventListener("click", addLine);
  addLine();

  function value(id) {
    return document.getElementById(id).value.trim();
  }

  function declaration() {
    const scheme = value("importer-scheme");
    const identifier = value("importer-value");
    return {
      reference: value("reference"),
      importer: {
        name: value("importer-name"),
        identifier: scheme || identifier ? { scheme: scheme, value: identifier } : null,
      },
      portOfEntry: value("port").toUpperCase(),
      date: value("date"),
      lines: Array.from(rows.querySelectorAll("tr")).map((row, index) => {
        const field = (name) => row.querySelector("." + name).value.trim();
        const line = {
          line: index + 1,
          certificate: Number(field("certificate")) - 1,
          item: Number(field("item")),
          hsCode: field("hs"),
          quantity: field("quantity"),
          unit: field("unit").toUpperCase(),
        };
        if (field("preference")) line.preference = field("preference").toUpperCase();
        return line;
      }),
    };
  }

  // What the registry says of an accepted line's utilisation (the answer's onChain).
  const ON_CHAIN = {
    confirmed: "recorded on chain",
    pending: "not yet confirmed on chain: the stored declaration shows when it is",
    refused: "refused by the registry",
  };

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function show(answer) {
    document.getElementById("result").hidden = false;
    document.getElementById("result-error").hidden = true;
    document.getElementById("outcome").textContent = answer.outcome;
    const link = document.getElementById("result-link");
    link.hidden = false;
    link.querySelector("a").href = `/declarations/${answer.id}`;
    document.getElementById("result-certificates").replaceChildren(
      ...answer.certificates.map((presented, index) => {
        const report = presented.report;
        const entry = report.trustEntry;
        const tr = document.createElement("tr");
        tr.dataset.testid = "certificate-result";
        tr.appendChild(cell(String(index + 1)));
        tr.appendChild(cell(report.certificateNumber || "—"));
        tr.appendChild(cell(report.verdict, "verdict-cell verdict-" + (report.verdict === "VALID" ? "VALID" : "bad")));
        tr.appendChild(cell(report.chainId === null || report.chainId === undefined ? "—" : String(report.chainId)));
        tr.appendChild(cell(entry ? `${entry.authority} (${entry.country})` : report.trustNote || "not on the trust list"));
        return tr;
      })
    );
    document.getElementById("result-rows").replaceChildren(
      ...answer.lines.map((line) => {
        const tr = document.createElement("tr");
        tr.dataset.testid = "line-result";
        tr.appendChild(cell(String(line.line)));
        tr.appendChild(cell(line.decision, "verdict-cell " + (line.decision === "accept" ? "verdict-VALID" : "verdict-bad")));
        tr.appendChild(cell(line.reasons.map((r) => `${r.code}: ${r.message}`).join("; ") || "—"));
        const record = line.record ? `${line.record.kind} — ${line.record.state}` : "—";
        tr.appendChild(cell(line.onChain ? `${record} (${ON_CHAIN[line.onChain] || line.onChain})` : record));
        return tr;
      })
    );
  }

  function fail(message) {
    document.getElementById("result").hidden = false;
    document.getElementById("outcome").textContent = "not checked";
    document.getElementById("result-certificates").replaceChildren();
    document.getElementById("result-rows").replaceChildren();
    const error = document.getElementById("result-error");
    error.hidden = false;
    error.textContent = message;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = new FormData();
    body.append("declaration", JSON.stringify(declaration()));
    for (const file of files) body.append("files", file, file.name);
    const button = document.getElementById("check");
    button.disabled = true;
    try {
      const response = await fetch("/api/v1/declarations", {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": form.dataset.csrf, Accept: "application/json" },
      });
      const answer = await response.json();
      if (response.ok) show(answer);
      else fail(answer.message || (answer.error && answer.error.message) || `the service answered ${response.status}`);
    } catch (error) {
      fail(`the declaration could not be sent: ${error}`);
    } finally {
      button.disabled = false;
    }
  });
})();
