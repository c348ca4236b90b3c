import { createHmac, randomInt } from 'node:crypto';
import { containsCardNumber } from '@pos/utils';

/** Unambiguous characters (no 0/O, 1/I/L): codes are read aloud and typed at the register. */
export const GIFT_CARD_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const GIFT_CARD_CODE_LENGTH = 16;

/** Upper case without spaces and dashes, so `abcd-efgh…` and `ABCDEFGH…` are the same card. */
export function normalizeGiftCardCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

/** 16 random characters (~79 bits), never something that looks like a payment card number. */
export function generateGiftCardCode(random: (max: number) => number = randomInt): string {
  for (;;) {
    let code = '';
    for (let i = 0; i < GIFT_CARD_CODE_LENGTH; i++) code += GIFT_CARD_ALPHABET[random(GIFT_CARD_ALPHABET.length)];
    if (!containsCardNumber(code)) return code;
  }
}

/** Only this keyed hash of the normalized code is stored, so a database dump does not give away cards. */
export function hashGiftCardCode(secret: string, code: string): string {
  return createHmac('sha256', secret).update(normalizeGiftCardCode(code)).digest('hex');
}

export const giftCardLast4 = (code: string) => normalizeGiftCardCode(code).slice(-4);
