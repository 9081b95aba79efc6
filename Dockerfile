FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY client ./client
COPY . .
RUN pip install --no-cache-dir . ./client \
    && python manage.py collectstatic --noinput --verbosity 0
EXPOSE 8000
# Threaded workers: monitorsite/gunicorn_conf.py, the same settings as `make run`.
CMD ["gunicorn", "monitorsite.wsgi", "--config", "python:monitorsite.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "4"]
