#!/usr/bin/env bash
# The commands of a release, raw, one after another: what `inv release --rehearse` runs
# (release_engine/steps/ and remotes/), with nothing observed first and nothing verified after.
# Run through bench/standins_env.py, which starts the same stand-ins and exports their
# URLs and credentials; bench/run.py times it beside the rehearsal.
set -euo pipefail

V=${VERSION:?bench/run.py exports the version it releases}
TAG=v$V
REMOTE=$BENCH_WORK/remote.git
WORK=$BENCH_WORK/work

# A throwaway clone with a bare remote, as release_engine.rehearsal.clone_for_rehearsal makes.
git clone --quiet --bare --no-local "$SOURCE_REPO" "$REMOTE"
git clone --quiet --branch main "$REMOTE" "$WORK"
cd "$WORK"
git config user.email release-rehearsal@localhost
git config user.name "Release Rehearsal"
STATE=$WORK/.git/release/$TAG
mkdir -p "$STATE"

# branch, bump, changelog, commit, tag
git checkout --quiet -b "release/$TAG" main
"$PYTHON" -m bumpversion bump --allow-dirty --new-version "$V"
"$PYTHON" -m towncrier build --yes --version "$V" --date "$(date -u +%F)" --dir "$WORK"
git add --all
git commit --quiet -m "Release $TAG"
git tag -a "$TAG" -m "Release version $V" "release/$TAG"

# build: sdist and wheel from a clean export of the tag, then twine check
EPOCH=$(git log -1 --format=%ct "$TAG")
git archive --format=tar -o "$STATE/src.tar" "$TAG"
mkdir -p "$STATE/src"
tar -xf "$STATE/src.tar" -C "$STATE/src"
rm "$STATE/src.tar"
(cd "$STATE/src" && SOURCE_DATE_EPOCH=$EPOCH "$PYTHON" -m build --installer uv \
    --outdir "$STATE/dist" "$STATE/src" >/dev/null)
"$PYTHON" -m twine --no-color check --strict "$STATE"/dist/*

# image: its lock (the tag's uv.lock exported with hashes, also a release asset), the build
# context (Dockerfile, the lock as requirements, the wheel unpacked with build-info.json), then
# a build dated by the tag's commit, so the same tag gives the same image ID
ASSETS=$STATE/assets
mkdir -p "$ASSETS"
if [ -n "${REGISTRY_URL:-}" ]; then
    IMAGE=$REGISTRY_URL/market-data-ingestion
    LOCK=$ASSETS/market_data_ingestion-$V.requirements.txt
    uv export --frozen --no-dev --no-emit-project --format requirements-txt \
        --project "$STATE/src" --no-header >"$LOCK"
    CTX=$STATE/image-context
    STAGED=$CTX/dist/market_data_ingestion-$V
    mkdir -p "$STAGED"
    cp "$STATE/src/Dockerfile" "$CTX/Dockerfile"
    cp "$LOCK" "$CTX/dist/requirements.txt"
    unzip -q "$STATE"/dist/*.whl -d "$STAGED"
    REVISION=$(git rev-parse "$TAG^{commit}")
    CREATED=$(date -u -d "@$EPOCH" +%FT%T+00:00)
    jq -n --arg c "$CREATED" --arg r "$REVISION" --arg s "$REMOTE" --arg v "$V" \
        '{created: $c, revision: $r, source: $s, version: $v}' >"$STAGED/build-info.json"
    "$CONTAINER_ENGINE" build --isolation=chroot --layers --timestamp "$EPOCH" \
        --file "$CTX/Dockerfile" --iidfile "$STATE/image.iid" \
        --tag "$IMAGE:$TAG" --tag "$IMAGE:latest" \
        --build-arg "VERSION=$V" --build-arg "REVISION=$REVISION" \
        --build-arg "CREATED=$CREATED" --build-arg "SOURCE=$REMOTE" \
        --build-arg "BASE_IMAGE=$BASE_IMAGE" "$CTX" >/dev/null
fi

# merge, push
git checkout --quiet main
git merge --quiet --no-ff -m "Merge release/$TAG into main" "release/$TAG"
git push --quiet --atomic origin refs/heads/main "refs/heads/release/$TAG" "refs/tags/$TAG"

# upload, one file at a time, then read the index until it serves them
for file in "$STATE"/dist/*; do
    "$PYTHON" -m twine --no-color upload --non-interactive --disable-progress-bar \
        --repository-url "$INDEX_URL" "$file" >/dev/null
done
curl -fsS -u "$TWINE_USERNAME:$TWINE_PASSWORD" "$INDEX_SIMPLE_URL" >/dev/null

# image-push: the version tag, then latest as a copy inside the registry; then the rebuild
# check: the image ID built here is the config digest the registry's manifest names
if [ -n "${REGISTRY_URL:-}" ]; then
    AUTH=$STATE/registry/config.json
    mkdir -p "$(dirname "$AUTH")"
    (umask 077 && printf '{"auths": {"%s": {"auth": "%s"}}}' "$REGISTRY_URL" \
        "$(printf '%s:%s' "$REGISTRY_USERNAME" "$REGISTRY_PASSWORD" | base64 -w0)" >"$AUTH")
    "$CONTAINER_ENGINE" push --quiet --tls-verify=false --authfile "$AUTH" \
        --digestfile "$STATE/image.digest" "$IMAGE:$TAG" "docker://$IMAGE:$TAG"
    skopeo copy --quiet --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
        --authfile "$AUTH" "docker://$IMAGE:$TAG" "docker://$IMAGE:latest"
    MANIFEST=$STATE/image.manifest.json
    skopeo inspect --raw --tls-verify=false --authfile "$AUTH" "docker://$IMAGE:$TAG" >"$MANIFEST"
    [ "$(jq -r .config.digest "$MANIFEST")" = "$(cat "$STATE/image.iid")" ]
    DIGEST=$(cat "$STATE/image.digest")

    # image-sbom: what the image's Python sees installed, as a CycloneDX 1.6 document dated
    # by the tag's commit, pushed as an OCI artifact whose subject is the image (oras)
    SBOM=$ASSETS/market_data_ingestion-$V.cdx.json
    "$CONTAINER_ENGINE" run --rm --network=none --tls-verify=false --authfile "$AUTH" \
        --entrypoint python3 "$IMAGE:$TAG" -c 'import json, importlib.metadata as m
print(json.dumps(sorted({(d.metadata["Name"], d.version) for d in m.distributions()})))' \
        >"$STATE/distributions.json"
    IMAGE=$IMAGE DIGEST=$DIGEST V=$V EPOCH=$EPOCH "$PYTHON" - "$STATE/distributions.json" \
        >"$SBOM" <<'PY'
import datetime as dt, json, os, sys, uuid
from cyclonedx.model import HashAlgorithm, HashType
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL
from packaging.utils import canonicalize_name
image, digest = os.environ["IMAGE"], os.environ["DIGEST"]
bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"{image}@{digest}"))
bom.metadata.timestamp = dt.datetime.fromtimestamp(int(os.environ["EPOCH"]), dt.timezone.utc)
sha = [HashType(alg=HashAlgorithm.SHA_256, content=digest.removeprefix("sha256:"))]
root = Component(type=ComponentType.CONTAINER, name=image, version=os.environ["V"],
                 bom_ref=f"{image}@{digest}", hashes=sha)
bom.metadata.component = root
parts = []
for name, version in sorted(json.load(open(sys.argv[1])), key=lambda d: canonicalize_name(d[0])):
    purl = PackageURL("pypi", name=canonicalize_name(name), version=version)
    parts.append(Component(type=ComponentType.LIBRARY, name=name, version=version, purl=purl,
                           bom_ref=purl.to_string()))
bom.components.update(parts)
bom.register_dependency(root, parts)
print(JsonV1Dot6(bom).output_as_string(indent=2))
PY
    SCHEME=token  # the registry's challenge: Basic (htpasswd) or Bearer (a token server)
    if curl -sS -o /dev/null -D - "http://$REGISTRY_URL/v2/" | grep -qi '^www-authenticate: basic'
    then SCHEME=basic; fi
    IMAGE=$IMAGE DIGEST=$DIGEST SCHEME=$SCHEME "$PYTHON" - "$SBOM" "$MANIFEST" <<'PY'
import json, os, sys
import oras.client, oras.oci
image, digest, scheme = os.environ["IMAGE"], os.environ["DIGEST"], os.environ["SCHEME"]
raw = open(sys.argv[2], "rb").read()
subject = oras.oci.Subject(mediaType=json.loads(raw)["mediaType"], digest=digest, size=len(raw))
client = oras.client.OrasClient(hostname=image.split("/")[0], insecure=True, auth_backend=scheme)
client.auth.set_basic_auth(os.environ["REGISTRY_USERNAME"], os.environ["REGISTRY_PASSWORD"])
if scheme == "token":  # a new token at each challenge: the push scope, not the pull one
    every = client.auth.authenticate_request
    client.auth.authenticate_request = lambda original, headers, refresh=False: every(
        original, headers, refresh=True)
client.push(target=f"{image}:{digest.replace(':', '-')}.sbom", subject=subject, quiet=True,
            files=[f"{sys.argv[1]}:application/vnd.cyclonedx+json"], disable_path_validation=True)
PY
fi

# github-release: a draft with the CHANGELOG section as its body, its assets (sdist, wheel,
# the image's lock and SBOM, SHA256SUMS of them all and of the image), then published
NOTES=$(awk -v v="## [$V]" 'index($0, v) == 1 {on = 1; next} on && /^## \[/ {exit} on' CHANGELOG.md)
BODY=$(jq -n --arg tag "$TAG" --arg notes "$NOTES" \
    '{tag_name: $tag, name: $tag, body: $notes, draft: true, prerelease: false}')
API=(-fsS -H "Authorization: Bearer $GITHUB_TOKEN" -H "Accept: application/vnd.github+json")
RELEASE=$(curl "${API[@]}" -X POST -H "Content-Type: application/json" --data "$BODY" \
    "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/releases")
RELEASE_ID=$(jq -r .id <<<"$RELEASE")
UPLOAD_URL=$(jq -r .upload_url <<<"$RELEASE" | sed 's/{.*//')
cp "$STATE"/dist/* "$ASSETS/"
(cd "$ASSETS" && sha256sum -- *) >"$STATE/SHA256SUMS"
if [ -n "${REGISTRY_URL:-}" ]; then
    echo "${DIGEST#sha256:}  $IMAGE:$TAG" >>"$STATE/SHA256SUMS"
fi
LC_ALL=C sort -k2 "$STATE/SHA256SUMS" >"$ASSETS/SHA256SUMS"
for file in "$ASSETS"/*; do
    curl "${API[@]}" -o /dev/null -X POST -H "Content-Type: application/octet-stream" \
        --data-binary "@$file" "$UPLOAD_URL?name=$(basename "$file")"
done
curl "${API[@]}" -o /dev/null -X PATCH -H "Content-Type: application/json" \
    --data '{"draft": false, "make_latest": "true"}' \
    "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/releases/$RELEASE_ID"

# deploy-manifests: the image tag moved on main
if [ -n "${REGISTRY_URL:-}" ]; then
    sed -i "s#image: .*market-data-ingestion:.*#image: $IMAGE:$TAG#" deploy/k8s/deployment.yaml
    git add deploy/k8s/deployment.yaml
    git commit --quiet -m "Deploy $TAG"
    git push --quiet origin refs/heads/main
fi

# notify: a Slack-style message to the webhook
TEXT=$(NOTES="$NOTES" V="$V" "$PYTHON" -c 'import json, os
print(json.dumps({"text": "market-data-ingestion " + os.environ["V"] + " released\n" + os.environ["NOTES"]}))')
curl -fsS -o /dev/null -X POST -H "Content-Type: application/json" --data "$TEXT" "$WEBHOOK_URL"

# email: the release notes, written to a file, then sent over SMTP
if [ -n "${SMTP_PORT:-}" ]; then
    EML=$STATE/release-notes.eml NOTES=$NOTES V=$V "$PYTHON" -c 'import os, smtplib
from email.message import EmailMessage
msg = EmailMessage()
msg["From"] = msg["To"] = "release-rehearsal@localhost"
msg["Subject"] = "market-data-ingestion " + os.environ["V"] + " released"
msg.set_content(os.environ["NOTES"])
open(os.environ["EML"], "wb").write(bytes(msg))
with smtplib.SMTP("127.0.0.1", int(os.environ["SMTP_PORT"])) as smtp:
    smtp.login(os.environ["SMTP_USERNAME"], os.environ["SMTP_PASSWORD"])
    smtp.send_message(msg)'
fi
echo "raw release $TAG done"
