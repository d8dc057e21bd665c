/**
 * Test fixtures: GBNF grammars after llama.cpp's grammars/ examples (json.gbnf, arithmetic.gbnf,
 * list.gbnf), written out here so tests need no checkout of llama.cpp.
 */

/** JSON object grammar (llama.cpp grammars/json.gbnf): an object at the root, bounded whitespace. */
export const JSON_GBNF = String.raw`
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
`;

/** Lines of "expression = term" (llama.cpp grammars/arithmetic.gbnf). */
export const ARITHMETIC_GBNF = String.raw`
root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
`;

/** A "- item" list, one item per line (llama.cpp grammars/list.gbnf). */
export const LIST_GBNF = String.raw`
root ::= item+

# Excludes various line break characters
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
`;
