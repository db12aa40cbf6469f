/**
 * Runs every side of a comparison in turn, round after round (A B A B…, the order rotating each round so no side
 * always goes first), after `warmups` unrecorded rounds: load that drifts on a shared machine hits every side alike.
 */
export interface RoundsOptions {
  readonly rounds: number;
  readonly warmups: number;
}

export const roundsMax = 1_000;

export async function interleaved<Side>(sides: readonly Side[], options: RoundsOptions, measure: (side: Side, round: number) => Promise<number> | number): Promise<number[][]> {
  if (!(Number.isInteger(options.rounds) && options.rounds >= 1 && options.rounds <= roundsMax)) throw new RangeError(`rounds must be 1..${roundsMax}`);
  if (!(Number.isInteger(options.warmups) && options.warmups >= 0 && options.warmups <= roundsMax)) throw new RangeError(`warmups must be 0..${roundsMax}`);
  const samples = sides.map(() => [] as number[]);
  for (let round = -options.warmups; round < options.rounds; round += 1) {
    const first = ((round % sides.length) + sides.length) % sides.length;
    for (let turn = 0; turn < sides.length; turn += 1) {
      const index = (first + turn) % sides.length;
      const value = await measure(sides[index] as Side, round);
      if (round >= 0) samples[index]?.push(value);
    }
  }
  return samples;
}
