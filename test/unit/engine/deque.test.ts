import { describe, expect, it } from 'vitest';
import { Deque } from '../../../src/engine/deque.js';

describe('Deque', () => {
  it('keeps order at both ends across growth and wrap-around', () => {
    const d = new Deque<number>();
    const model: number[] = [];
    for (let i = 0; i < 100; i++) {
      if (i % 3 === 0) {
        d.pushFront(i);
        model.unshift(i);
      } else {
        d.pushBack(i);
        model.push(i);
      }
      if (i % 5 === 0) expect(d.popFront()).toBe(model.shift());
    }
    expect(d.length).toBe(model.length);
    expect(Array.from({ length: d.length }, (_, i) => d.at(i))).toEqual(model);
    expect(d.peekFront()).toBe(model[0]);
    while (d.length > 0) expect(d.popFront()).toBe(model.shift());
    expect(d.popFront()).toBeUndefined();
    expect(d.at(0)).toBeUndefined();
  });
});
