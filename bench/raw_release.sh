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

# image: the build context (Dockerfile, the wheel unpacked, its requirements), then the build
if [ -n "${REGISTRY_URL:-}" ]; then
    IMAGE=$REGISTRY_URL/market-data-ingestion
    CTX=$STATE/image-context
    mkdir -p "$CTX/dist"
    cp "$STATE/src/Dockerfile" "$CTX/Dockerfile"
    unzip -q "$STATE"/dist/*.whl -d "$CTX/dist/market_data_ingestion-$V"
    unzip -p "$STATE"/dist/*.whl '*.dist-info/METADATA' \
        | sed -n 's/^Requires-Dist: //p' | grep -v 'extra ==' >"$CTX/dist/requirements.txt" || true
    "$CONTAINER_ENGINE" build --isolation=chroot --layers --file "$CTX/Dockerfile" \
        --iidfile "$STATE/image.iid" --tag "$IMAGE:$TAG" --tag "$IMAGE:latest" \
        --build-arg "VERSION=$V" --build-arg "SOURCE=$REMOTE" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        --label "org.opencontainers.image.version=$V" \
        --label "org.opencontainers.image.revision=$(git rev-parse "$TAG")" \
        --label "org.opencontainers.image.created=$(date -u -d "@$EPOCH" +%FT%T+00:00)" \
        --label "org.opencontainers.image.source=$REMOTE" "$CTX" >/dev/null
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

# image-push: the version tag, then latest as a copy inside the registry
if [ -n "${REGISTRY_URL:-}" ]; then
    AUTH=$STATE/registry/config.json
    mkdir -p "$(dirname "$AUTH")"
    (umask 077 && printf '{"auths": {"%s": {"auth": "%s"}}}' "$REGISTRY_URL" \
        "$(printf '%s:%s' "$REGISTRY_USERNAME" "$REGISTRY_PASSWORD" | base64 -w0)" >"$AUTH")
    "$CONTAINER_ENGINE" push --quiet --tls-verify=false --authfile "$AUTH" "$IMAGE:$TAG" \
        "docker://$IMAGE:$TAG"
    skopeo copy --quiet --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
        --authfile "$AUTH" "docker://$IMAGE:$TAG" "docker://$IMAGE:latest"
fi

# github-release: the CHANGELOG section as its body
NOTES=$(awk -v v="## [$V]" 'index($0, v) == 1 {on = 1; next} on && /^## \[/ {exit} on' CHANGELOG.md)
BODY=$(NOTES="$NOTES" TAG="$TAG" "$PYTHON" -c 'import json, os
print(json.dumps({"tag_name": os.environ["TAG"], "name": os.environ["TAG"],
                  "body": os.environ["NOTES"], "make_latest": "true"}))')
curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $GITHUB_TOKEN" \
    -H "Accept: application/vnd.github+json" -H "Content-Type: application/json" \
    --data "$BODY" "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/releases"

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
