import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Every package imports `z` from here so that `.openapi()` is available on every schema:
// the schemas that validate requests are the ones the OpenAPI documents are generated from.
extendZodWithOpenApi(z);

export { z };
