// The demo page of `python -m shared serve`: form upload (PostObject) for small files, multipart through the
// presign function's Uppy-compatible routes (/s3/multipart...) for large ones, presigned download, email link.
// Plain browser JavaScript, no framework and no build step; every request goes to another origin.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { config: null, stored: null, upload: null, uploading: Promise.resolve() };
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;  // larger files go in parts: parallel, resumable
const MIN_PART = 5 * 1024 * 1024;
const IN_FLIGHT = 4;
const PART_ATTEMPTS = 4;

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

// GET or send JSON to one of the presign function's upload routes; errors carry a top-level message.
async function uploadApi(method, path, body) {
  const headers = { ...authHeaders(), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(state.config.presign + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (failure) {
    throw new Error(`Could not reach ${state.config.presign}: it is not running, or it does not allow this page's origin.`);
  }
  if (response.status === 204) return null;
  let answer = null;
  try { answer = await response.json(); } catch (ignored) { answer = null; }
  if (!response.ok) {
    const error = new Error(`${path.split("?")[0]} was refused (${response.status}): ${
      (answer && (answer.message || (answer.error && answer.error.message))) || "no reason given"}`);
    error.status = response.status;
    error.code = answer && answer.error && answer.error.code;
    throw error;
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
  if (file.size > MULTIPART_THRESHOLD) return uploadInParts(file);
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
  await showStored(file, key, uploaded.etag);
}

async function showStored(file, key, etag) {
  const digest = await sha256Hex(file);
  state.stored = { key, name: file.name, size: file.size, sha256: digest, etag };
  say("stored-key", key);
  say("stored-size", `${file.size} bytes`);
  say("stored-sha256", digest);
  $("stored").hidden = false;
  $("download").disabled = false;
  $("link").disabled = false;
  say("status", "Stored.");
}

// --- Multipart: the presign function starts, signs each part, lists and completes; parts go to the bucket.

function partSize(file) {
  return Math.max(MIN_PART, Math.ceil(file.size / 10000));
}

function resumeSlot(file) {
  return `oss-presign-upload:${file.name}:${file.size}:${file.lastModified}`;
}

function uploadPath(upload, suffix = "") {
  return `/s3/multipart/${encodeURIComponent(upload.uploadId)}${suffix}?key=${encodeURIComponent(upload.key)}`;
}

// The upload this file had before a reload (its parts read back from the bucket), or a new one.
async function startOrResume(file) {
  const saved = JSON.parse(localStorage.getItem(resumeSlot(file)) || "null");
  if (saved) {
    try {
      const parts = await uploadApi("GET", uploadPath(saved));
      const done = new Map(parts.map((part) => [part.PartNumber, { etag: part.ETag, size: part.Size }]));
      say("status", `Resuming: ${done.size} parts were already uploaded.`);
      return { ...saved, done, resumed: done.size };
    } catch (failure) {
      if (failure.status !== 404) throw failure;
      localStorage.removeItem(resumeSlot(file));  // completed or aborted meanwhile: start again
    }
  }
  const started = await uploadApi("POST", "/s3/multipart", {
    filename: file.name, type: file.type || "application/octet-stream",
    metadata: { name: file.name, type: file.type || "application/octet-stream" } });
  const upload = { uploadId: started.uploadId, key: started.key };
  localStorage.setItem(resumeSlot(file), JSON.stringify(upload));
  return { ...upload, done: new Map(), resumed: 0 };
}

function putPart(url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => {
      const etag = request.getResponseHeader("ETag");
      if (request.status >= 200 && request.status < 300 && etag) resolve(etag);
      else if (request.status >= 200 && request.status < 300) reject(new Error("The bucket does not expose ETag to this page (its CORS rule must list ETag)."));
      else reject(new Error(ossError(request.responseText, request.status)));
    };
    request.onerror = () => reject(new Error("a part upload failed before the bucket answered"));
    request.open("PUT", url);
    request.send(body);
  });
}

async function sendPart(file, run, number, size, inFlight) {
  const upload = run.upload;
  const start = (number - 1) * size;
  const body = file.slice(start, Math.min(start + size, file.size));
  for (let attempt = 1; ; attempt += 1) {
    try {
      const signed = await uploadApi("GET", uploadPath(upload, `/${number}`));
      const etag = await putPart(signed.url, body, (loaded) => { inFlight.set(number, loaded); });
      upload.done.set(number, { etag, size: body.size });
      inFlight.delete(number);
      return;
    } catch (failure) {
      inFlight.delete(number);
      if (attempt >= PART_ATTEMPTS || run.paused) throw failure;
      upload.retries = (upload.retries || 0) + 1;
      $("progress").dataset.retries = String(upload.retries);
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

async function uploadInParts(file) {
  const size = partSize(file);
  const count = Math.ceil(file.size / size);
  $("progress").dataset.events = "0";
  const upload = await startOrResume(file);
  const run = { paused: false, upload };
  state.upload = run;
  $("pause").hidden = false;
  $("pause").textContent = "Pause";
  const expected = (number) => (number < count ? size : file.size - size * (count - 1));
  const waiting = [];
  for (let number = 1; number <= count; number += 1) {
    const have = upload.done.get(number);
    if (!have || have.size !== expected(number)) waiting.push(number);
  }
  const inFlight = new Map();
  const ticker = setInterval(() => {
    let loaded = 0;
    for (const part of upload.done.values()) loaded += part.size;
    for (const bytes of inFlight.values()) loaded += bytes;
    progress(Math.min(loaded, file.size), file.size);
  }, 100);
  say("status", `Uploading ${count} parts, ${IN_FLIGHT} at a time, straight to the bucket...`);
  try {
    const worker = async () => {
      while (waiting.length && !run.paused) await sendPart(file, run, waiting.shift(), size, inFlight);
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, waiting.length) }, worker));
  } finally {
    clearInterval(ticker);
  }
  if (run.paused) {
    say("status", `Paused: ${upload.done.size} of ${count} parts uploaded. Press Resume to go on.`);
    return;
  }
  progress(file.size, file.size);
  const parts = [...upload.done.entries()].sort((a, b) => a[0] - b[0])
    .map(([number, part]) => ({ PartNumber: number, ETag: part.etag }));
  await uploadApi("POST", uploadPath(upload, "/complete"), { parts });
  localStorage.removeItem(resumeSlot(file));
  $("pause").hidden = true;
  state.upload = null;
  await showStored(file, upload.key, null);
}

async function pauseOrResume() {
  const run = state.upload;
  if (!run) return;
  if (!run.paused) {
    run.paused = true;  // the parts in flight finish; no new ones start
    $("pause").textContent = "Resume";
    return;
  }
  // Resumed before the parts in flight when paused are in: wait for them (and for the Upload button) first,
  // then list what the bucket holds and send the rest.
  $("pause").disabled = true;
  await state.uploading;
  $("pause").disabled = false;
  $("pause").textContent = "Pause";
  $("upload").click();
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
  $(button).addEventListener("click", () => {
    const running = (async () => {
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
    })();
    if (button === "upload") state.uploading = running;  // settled once the button is enabled again
  });
}

async function start() {
  const response = await fetch("config.json", { cache: "no-store" });
  state.config = await response.json();
  $("secret").value = state.config.api_key || "";
  say("endpoints", `presign: ${state.config.presign}, links: ${state.config.links}`);
  action("upload", upload);
  $("pause").addEventListener("click", pauseOrResume);
  action("download", download);
  action("link", makeLink);
  document.body.dataset.ready = "true";
}

start().catch((failure) => showError(`The page could not start: ${failure.message}`));
