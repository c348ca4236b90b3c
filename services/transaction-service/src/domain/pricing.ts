/**
 * Sale pricing: discounts, tax and totals. Pure integer arithmetic, no I/O.
 *
 * Every amount is an integer number of minor units (cents, yen, fils…); money is never a float.
 * "Round half-up" of a non-negative rational a/b is floor((2a + b) / 2b), done in BigInt so that
 * intermediate products (amount × basis points) can never lose precision.
 *
 * Rules, in the order they are applied (POS-DESIGN §11 "Tax and discounts"):
 *
 * 1. gross = unitPrice × quantity.
 * 2. Line discount: `percentBps` gives round-half-up(gross × bps / 10000); `amount` gives that
 *    amount; with both, the percent is taken first and the amount comes off what is left. The line
 *    discount is capped at gross. lineNet = gross − lineDiscount.
 * 3. Order discounts are applied in the order given, each to the basket that is still left after
 *    the line discounts and the earlier order discounts: `percentBps` gives
 *    round-half-up(remaining × bps / 10000), `amount` that amount (with both, percent first, then
 *    the amount). Together they form one order discount D, capped at Σ lineNet.
 * 4. D is spread over the lines in proportion to lineNet by the largest-remainder method: every
 *    line gets floor(D × lineNet / Σ lineNet); the units still missing go one each to the lines
 *    with the largest remainders (ties: earlier line first). The shares sum to D exactly and no
 *    share exceeds its line's lineNet.
 *    net = lineNet − orderDiscount; discount = lineDiscount + orderDiscount.
 * 5. Tax is computed per line on net and rounded half-up per line:
 *    - tax-exclusive store: tax = round-half-up(net × rateBps / 10000); total = net + tax.
 *    - tax-inclusive store: the price already contains the tax:
 *      tax = net − round-half-up(net × 10000 / (10000 + rateBps)); total = net.
 * 6. Sale: subtotal = Σ gross, discountTotal = Σ discount, taxTotal = Σ tax, total = Σ line total.
 *
 * Invariants (checked by property tests):
 *    exclusive: subtotal − discountTotal + taxTotal = total
 *    inclusive: subtotal − discountTotal = total (taxTotal is the tax contained in it)
 *    every amount is a non-negative safe integer; no line's discount exceeds its gross.
 *
 * Inputs that are not non-negative safe integers (or a quantity below 1) are programming errors
 * (the HTTP schema rejects them first) and throw a RangeError.
 */

export interface PricingLineInput {
  quantity: number;
  unitPrice: number;
  taxRateBps: number;
  discount?: { percentBps?: number; amount?: number };
}

export interface OrderDiscountInput {
  percentBps?: number;
  amount?: number;
}

export interface PricedLine {
  quantity: number;
  unitPrice: number;
  gross: number;
  lineDiscount: number;
  orderDiscount: number;
  discount: number;
  net: number;
  tax: number;
  total: number;
  taxRateBps: number;
}

export interface PricedSale {
  lines: PricedLine[];
  subtotal: number;
  discountTotal: number;
  taxTotal: number;
  total: number;
}

const BPS = 10_000n;

export function priceSale(lines: PricingLineInput[], orderDiscounts: OrderDiscountInput[], taxInclusive: boolean): PricedSale {
  // Steps 1–2: gross and line discount, per line.
  const partial = lines.map((line, i) => {
    const quantity = checkAmount(`lines[${i}].quantity`, line.quantity);
    if (quantity < 1) throw new RangeError(`lines[${i}].quantity must be at least 1, got ${quantity}`);
    const unitPrice = checkAmount(`lines[${i}].unitPrice`, line.unitPrice);
    const taxRateBps = checkAmount(`lines[${i}].taxRateBps`, line.taxRateBps);
    const gross = checkAmount(`lines[${i}].gross`, unitPrice * quantity);
    const lineDiscount = discountOf(gross, line.discount, `lines[${i}].discount`);
    return { quantity, unitPrice, taxRateBps, gross, lineDiscount, lineNet: gross - lineDiscount };
  });

  // Step 3: the order discounts become one amount D, never more than the basket left.
  const basket = sum(partial.map((l) => l.lineNet));
  let orderDiscount = 0;
  orderDiscounts.forEach((d, i) => {
    orderDiscount += discountOf(basket - orderDiscount, d, `discounts[${i}]`);
  });

  // Step 4: spread D so that the per-line shares add up to D exactly.
  const shares = largestRemainder(
    orderDiscount,
    partial.map((l) => l.lineNet),
  );

  // Step 5: tax per line on what the customer actually pays for that line.
  const priced: PricedLine[] = partial.map((l, i) => {
    const share = shares[i] ?? 0;
    const net = l.lineNet - share;
    const tax = taxInclusive ? net - mulDivHalfUp(net, BPS, BPS + BigInt(l.taxRateBps)) : mulDivHalfUp(net, BigInt(l.taxRateBps), BPS);
    const total = checkAmount(`lines[${i}].total`, taxInclusive ? net : net + tax);
    return {
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      gross: l.gross,
      lineDiscount: l.lineDiscount,
      orderDiscount: share,
      discount: l.lineDiscount + share,
      net,
      tax,
      total,
      taxRateBps: l.taxRateBps,
    };
  });

  // Step 6: sale totals are plain sums of the line figures, so lines and header always agree.
  return {
    lines: priced,
    subtotal: sum(priced.map((l) => l.gross)),
    discountTotal: sum(priced.map((l) => l.discount)),
    taxTotal: sum(priced.map((l) => l.tax)),
    total: sum(priced.map((l) => l.total)),
  };
}

/**
 * A discount (percent first, then a fixed amount on what is left) taken from `base`, never more
 * than `base`, so a line or basket can never go negative.
 */
function discountOf(base: number, discount: { percentBps?: number; amount?: number } | undefined, path: string): number {
  if (!discount) return 0;
  let taken = 0;
  if (discount.percentBps !== undefined) {
    const bps = checkAmount(`${path}.percentBps`, discount.percentBps);
    taken = Math.min(base, mulDivHalfUp(base, BigInt(bps), BPS));
  }
  if (discount.amount !== undefined) {
    const amount = checkAmount(`${path}.amount`, discount.amount);
    taken += Math.min(base - taken, amount);
  }
  return taken;
}

/**
 * Splits `amount` over `weights` in proportion, by largest remainder: floor shares first, then the
 * leftover units one each to the largest fractional remainders (earlier index wins a tie).
 * Requires amount ≤ Σ weights, which keeps every share ≤ its weight.
 */
function largestRemainder(amount: number, weights: number[]): number[] {
  const total = BigInt(sum(weights));
  if (amount === 0 || total === 0n) return weights.map(() => 0);
  const a = BigInt(amount);
  const parts = weights.map((w, index) => {
    const exact = a * BigInt(w);
    return { index, share: Number(exact / total), remainder: exact % total };
  });
  let leftover = amount - sum(parts.map((p) => p.share));
  // The leftover is less than the number of non-zero remainders, so a zero-weight line never gets a unit.
  const byRemainder = [...parts].sort((x, y) => (x.remainder === y.remainder ? x.index - y.index : x.remainder > y.remainder ? -1 : 1));
  for (const p of byRemainder) {
    if (leftover === 0) break;
    p.share += 1;
    leftover -= 1;
  }
  return parts.map((p) => p.share);
}

/** round-half-up(x × num / den) for x ≥ 0, num ≥ 0, den > 0, exactly. */
function mulDivHalfUp(x: number, num: bigint, den: bigint): number {
  const a = BigInt(x) * num;
  return checkAmount('rounded amount', Number((2n * a + den) / (2n * den)));
}

function sum(values: number[]): number {
  return checkAmount('sum', values.reduce((acc, v) => acc + v, 0));
}

/** Money and counts here are non-negative safe integers; anything else is a caller bug. */
function checkAmount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  return value;
}
