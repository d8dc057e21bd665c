import { StringTable, stringList } from './StringTable';

describe('StringTable lookups', () => {
  const words = ['a', 'ab', 'abc', 'Ġthe', 'the', 'Ġ', 'héllo', '🤖x', 'x'];
  const table = new StringTable(stringList(words));
  const units = (s: string) => Uint16Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));

  it('find, findUnits: the index of each text, -1 for others, by range', () => {
    words.forEach((w, i) => {
      expect(table.find(w)).toBe(i);
      expect(table.findUnits(units(w), 0, w.length)).toBe(i);
    });
    expect(table.find('zabcz', 1, 4)).toBe(2);
    expect(table.findUnits(units('zabcz'), 1, 4)).toBe(2);
    expect(table.find('abcd')).toBe(-1);
    expect(table.findUnits(units('ba'), 0, 2)).toBe(-1);
  });

  it('findUnitsWithout: the text without the unit at skip, at either end and inside', () => {
    expect(table.findUnitsWithout(units('Ġ the'), 5, 1)).toBe(3); // a rule "Ġ the" merges into "Ġthe"
    expect(table.findUnitsWithout(units(' the'), 4, 0)).toBe(4);
    expect(table.findUnitsWithout(units('ab '), 3, 2)).toBe(1);
    expect(table.findUnitsWithout(units('a bc'), 4, 1)).toBe(2);
    expect(table.findUnitsWithout(units('🤖 x'), 4, 2)).toBe(7); // a surrogate pair before the skip
    expect(table.findUnitsWithout(units('a b'), 3, 0)).toBe(-1); // " b" is no token
    // longer than the scratch buffer's first size
    const long = 'q'.repeat(100);
    const t2 = new StringTable(stringList([long]));
    expect(t2.findUnitsWithout(units(`${long.slice(0, 50)} ${long.slice(50)}`), 101, 50)).toBe(0);
  });
});
