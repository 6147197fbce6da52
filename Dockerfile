# The imgdigest webhook image: the package installed from this repository on a slim
# Python base, run as a non-root user with nothing writable but what the Pod mounts.
# Pin the base at release: imgdigest pin Dockerfile (both FROM lines; see docs/webhook.md).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/imgdigest \
 && /opt/imgdigest/bin/pip install --no-cache-dir --no-compile . \
 && /opt/imgdigest/bin/python -m compileall -q /opt/imgdigest

FROM python:3.11-slim-bookworm
COPY --from=build /opt/imgdigest /opt/imgdigest
ENV PATH=/opt/imgdigest/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["imgdigest"]
CMD ["webhook", "serve", "--tls-cert", "/etc/imgdigest/tls/tls.crt", "--tls-key", "/etc/imgdigest/tls/tls.key"]
