// The demo page of `python -m shared serve`: form upload (PostObject), presigned download, email link.
// Plain browser JavaScript, no framework and no build step; every request goes to another origin.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { config: null, stored: null };

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function say(id, text) {
  $(id).textContent = text;
}

function authHeaders() {
  const secret = $("secret").value.trim();
  if (!secret) throw new Error("Enter the API key (or a bearer token) first.");
  return $("auth-kind").value === "bearer" ? { Authorization: "Bearer " + secret } : { "X-Api-Key": secret };
}

// POST JSON to one of the functions; an error answer becomes an Error carrying its code and message.
async function callFunction(base, path, body) {
  let response;
  try {
    response = await fetch(base + path, {
      method: "POST",
      headers: { ...authHeaders(), "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch (failure) {
    throw new Error(`Could not reach ${base}: it is not running, or it does not allow this page's origin (CORS).`);
  }
  let answer = null;
  try { answer = await response.json(); } catch (ignored) { answer = null; }
  if (!response.ok) {
    const error = answer && answer.error;
    const detail = error ? `${error.code}: ${error.message}` : `HTTP ${response.status}`;
    throw new Error(`${path} was refused (${response.status}): ${detail}`);
  }
  return answer;
}

// OSS answers errors as XML: <Error><Code>...</Code><Message>...</Message></Error>.
function ossError(text, status) {
  const xml = new DOMParser().parseFromString(text || "", "application/xml");
  const code = xml.querySelector("Code")?.textContent;
  const message = xml.querySelector("Message")?.textContent;
  if (code === "EntityTooLarge") return `The file is larger than this upload allows (EntityTooLarge: ${message}).`;
  return code ? `The bucket refused the upload (${code}: ${message}).` : `The bucket answered HTTP ${status}.`;
}

function formatBytes(count) {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${count} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function progress(loaded, total) {
  const percent = total ? Math.floor((loaded / total) * 100) : 0;
  $("progress").value = percent;
  say("progress-text", `${formatBytes(loaded)} of ${formatBytes(total)} (${percent}%)`);
  $("progress").dataset.events = String(Number($("progress").dataset.events || 0) + 1);
}

async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// A form upload: the fields the function signed, then the file, with upload progress.
function postForm(post, file) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
    form.append("file", file);
    const request = new XMLHttpRequest();
    request.upload.onprogress = (event) => { if (event.lengthComputable) progress(event.loaded, event.total); };
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) resolve({ etag: request.getResponseHeader("ETag") });
      else reject(new Error(ossError(request.responseText, request.status)));
    };
    request.onerror = () => reject(new Error(
      "The upload failed before the bucket answered (the connection broke, or the bucket has no CORS rule for this page)."));
    request.open("POST", post.url);
    request.send(form);
  });
}

async function upload() {
  const file = $("file").files[0];
  if (!file) throw new Error("Choose a file first.");
  const config = state.config;
  const key = config.key_prefix + file.name;
  say("status", "Asking the presign function for a form upload...");
  $("progress").dataset.events = "0";
  const request = { key, content_type: file.type || "application/octet-stream" };
  const limit = $("max-size").value.trim();
  if (limit) request.max_size = Number(limit);
  const post = await callFunction(config.presign, "/presign/post", request);
  say("status", "Uploading straight to the bucket...");
  const uploaded = await postForm(post, file);
  progress(file.size, file.size);
  const digest = await sha256Hex(file);
  state.stored = { key, name: file.name, size: file.size, sha256: digest, etag: uploaded.etag };
  say("stored-key", key);
  say("stored-size", `${file.size} bytes`);
  say("stored-sha256", digest);
  $("stored").hidden = false;
  $("download").disabled = false;
  $("link").disabled = false;
  say("status", "Stored.");
}

// The seed's download: fetch the presigned URL, take the blob, and save it through <a download>.
async function download() {
  const stored = state.stored;
  const answer = await callFunction(state.config.presign, "/presign", {
    key: stored.key, method: "GET", filename: stored.name, disposition: "attachment" });
  let response;
  try {
    response = await fetch(answer.url);
  } catch (failure) {
    throw new Error("The download was blocked: the bucket sent no CORS headers for this page's origin.");
  }
  if (!response.ok) throw new Error(ossError(await response.text(), response.status));
  const blob = await response.blob();
  const anchor = document.createElement("a");
  anchor.href = URL.createObjectURL(blob);
  anchor.download = stored.name;
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(anchor.href), 60000);
  const digest = await sha256Hex(blob);
  const verdict = digest === stored.sha256 ? "the same bytes as uploaded" : "DIFFERENT bytes from the upload";
  say("download-result", `Downloaded ${blob.size} bytes as ${stored.name}: ${verdict}.`);
  $("download-result").dataset.sha256 = digest;
}

async function makeLink() {
  const stored = state.stored;
  const answer = await callFunction(state.config.links, "/links", { key: stored.key, filename: stored.name, ttl: "30d" });
  const target = $("link-result");
  target.textContent = "A 30-day link for an email (no key needed to open it): ";
  const anchor = document.createElement("a");
  anchor.href = answer.link;
  anchor.textContent = answer.link;
  target.appendChild(anchor);
  target.dataset.link = answer.link;
}

function action(button, work) {
  $(button).addEventListener("click", async () => {
    showError("");
    $(button).disabled = true;
    try {
      await work();
    } catch (failure) {
      showError(failure.message);
      say("status", "");
    } finally {
      $(button).disabled = button !== "upload" && !state.stored;
    }
  });
}

async function start() {
  const response = await fetch("config.json", { cache: "no-store" });
  state.config = await response.json();
  $("secret").value = state.config.api_key || "";
  say("endpoints", `presign: ${state.config.presign}, links: ${state.config.links}`);
  action("upload", upload);
  action("download", download);
  action("link", makeLink);
  document.body.dataset.ready = "true";
}

start().catch((failure) => showError(`The page could not start: ${failure.message}`));
