import { z } from './zod';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    requestId: z.string().optional(),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details, the one error shape of every service.' });

export type Problem = z.infer<typeof ProblemSchema>;
export type FieldError = { path: string; message: string };
