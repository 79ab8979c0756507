// A device's TUF client in another language: tuf-js's Updater with its
// default settings (TestFlightTUFJS, cmd/devupdate). Given a JSON request
// on argv[2] — {"metadataDir", "metadataBaseUrl", "targetDir",
// "targetBaseUrl", "target", "out"}, metadataDir holding the trusted
// root.json — it refreshes the repository, looks up the target and
// downloads it to out. It prints one JSON line: {"ok": true, "found",
// "length", "sha256", "custom"} or {"ok": false, "error": the error's class
// name, "message"}, and exits 0 or 1.
'use strict';
const { Updater } = require('tuf-js');

async function main() {
  const req = JSON.parse(process.argv[2]);
  const updater = new Updater({
    metadataDir: req.metadataDir,
    metadataBaseUrl: req.metadataBaseUrl,
    targetDir: req.targetDir,
    targetBaseUrl: req.targetBaseUrl,
  });
  await updater.refresh();
  const info = await updater.getTargetInfo(req.target);
  if (!info) {
    return { ok: true, found: false };
  }
  await updater.downloadTarget(info, req.out);
  return { ok: true, found: true, length: info.length, sha256: info.hashes.sha256, custom: info.custom };
}

main().then(
  (res) => console.log(JSON.stringify(res)),
  (err) => {
    console.log(JSON.stringify({ ok: false, error: err.constructor.name, message: String(err.message) }));
    process.exitCode = 1;
  },
);
