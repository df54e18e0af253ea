# transform.jq: the classic re-encoding CDC consumer, in jq.
#
# The same document rules as transform.js: reads wal2json format-version 2
# messages (with include-pk) and writes each row change as _bulk lines.  Run
# with `jq -r -f transform.jq`; the bench sends its output to _bulk in
# batches with `split --lines=2000 --filter='curl ...'`, which keeps items
# whole only when every item is two lines, so the jq pipeline is measured on
# INSERT workloads only.  `--argjson raw true` keeps the values as wal2json
# gives them (see transform.js --raw); `--argjson raw false` converts them.

def column_value:
  if $raw or .value == null or (.value | type) != "string" then .value
  elif .type == "jsonb" or .type == "json" then .value | fromjson
  elif .type | endswith("[]") then
    (if (.value | length) <= 2 then [] else .value[1:-1] | split(",") end)
  elif .type | startswith("timestamp") then
    .value | sub(" "; "T") | if test("[+-][0-9]{2}$") then . + ":00" else . end
  else .value end;

def document_id($cols):
  [.pk[].name as $n | $cols[] | select(.name == $n) | .value | tostring] | join("|");

select(.action == "I" or .action == "U" or .action == "D")
| (.schema + "." + .table) as $index
| if .action == "D" then
    {delete: {_index: $index, _id: document_id(.identity)}} | tojson
  else
    ({index: {_index: $index, _id: document_id(.columns)}} | tojson)
    + "\n" + (reduce .columns[] as $c ({}; .[$c.name] = ($c | column_value)) | tojson)
  end
