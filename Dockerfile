# adfusion-edge scoring server: docker build -t adfusion-edge . && docker run -p 8080:8080 adfusion-edge
# Runtime only (no torch): the package, its default INT8 bundle and the [serve] extra, versions pinned by
# constraints.txt. Not built in CI here; the server it runs is tested in tests/serve/.
FROM python:3.11-slim

# OpenCV (pulled by rapidocr) needs these shared libraries at import time.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY adfusion_edge ./adfusion_edge
COPY runtimes ./runtimes
COPY distill ./distill
COPY export ./export
RUN pip install --no-cache-dir -c constraints.txt ".[serve]" && useradd --create-home adfusion
USER adfusion

ENV OMP_NUM_THREADS=1
EXPOSE 8080
# /readyz turns 200 once the bundle is loaded and warmed up (OCR included).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz').status != 200)"
CMD ["adfusion-edge", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "1", "--threads", "1"]
