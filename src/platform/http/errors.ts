import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, STATUS_BY_KIND } from '../errors.ts';

/** The one error envelope every endpoint returns. */
export interface ErrorBody {
  error: { code: string; message: string; request_id: string; details?: Record<string, unknown> };
}

export const ERROR_SCHEMA = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'request_id'],
      properties: {
        code: { type: 'string', description: 'Stable, machine-readable code; switch on this.' },
        message: { type: 'string', description: 'What went wrong and what to do, for a person.' },
        request_id: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function describeIssue(context: string, issue: ValidationIssue): string {
  const where = `${context}${issue.instancePath ? issue.instancePath.replaceAll('/', '.') : ''}`;
  if (issue.keyword === 'additionalProperties') {
    return `${where} has an unknown property "${String(issue.params?.additionalProperty)}"; remove it`;
  }
  if (issue.keyword === 'required') return `${where} is missing "${String(issue.params?.missingProperty)}"`;
  return `${where} ${issue.message ?? 'is invalid'}`;
}

/** Maps any error to (status, body). The only place statuses are chosen. */
export function toErrorResponse(error: unknown, requestId: string): { status: number; body: ErrorBody } {
  const body = (code: string, message: string, details?: Record<string, unknown>): ErrorBody => ({
    error: { code, message, request_id: requestId, ...(details ? { details } : {}) },
  });
  if (error instanceof AppError) {
    return { status: STATUS_BY_KIND[error.kind], body: body(error.code, error.message, error.details) };
  }
  const fastifyError = error as FastifyError & { validationContext?: string; validation?: ValidationIssue[] };
  if (fastifyError.validation) {
    const context = fastifyError.validationContext ?? 'request';
    const issues = fastifyError.validation.map((issue) => ({
      path: `${context}${issue.instancePath ?? ''}`,
      keyword: issue.keyword,
      message: describeIssue(context, issue),
    }));
    return {
      status: 400,
      body: body('validation_failed', issues.map((i) => i.message).join('; '), { issues }),
    };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: body('malformed_json', 'The request body is not valid JSON.') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: body('empty_body', 'The request declares JSON but the body is empty.') };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: body('body_too_large', 'The request body is larger than this server accepts.'),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: body('unsupported_media_type', 'Send the body as application/json.'),
      };
  }
  if (fastifyError instanceof SyntaxError) {
    return { status: 400, body: body('malformed_json', 'The request body is not valid JSON.') };
  }
  const status = fastifyError.statusCode;
  if (status === 429) {
    return { status, body: body('rate_limited', 'Too many requests; wait a moment and try again.') };
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: body('bad_request', fastifyError.message || 'The request was not understood.') };
  }
  return {
    status: 500,
    body: body('internal_error', 'Something went wrong on our side; it has been logged.'),
  };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  const { status, body } = toErrorResponse(error, String(request.id));
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.error.code, status }, 'request rejected');
  return reply.status(status).type('application/json; charset=utf-8').send(body);
}
