/** Small helpers for the fake's loopback servers: read a body, parse it the ways Slack accepts, answer JSON. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Web API arguments from a form, JSON or multipart body, as Slack accepts all three. */
export async function parseArgs(contentType: string, body: Buffer): Promise<Record<string, string>> {
  if (contentType.startsWith('application/json')) {
    const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    const args: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      args[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    return args;
  }
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
    const args: Record<string, string> = {};
    for (const [key, value] of form.entries()) if (typeof value === 'string') args[key] = value;
    return args;
  }
  return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
}

export function sendJson(response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}
