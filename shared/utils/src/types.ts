export type FieldError = { path: string; message: string };
