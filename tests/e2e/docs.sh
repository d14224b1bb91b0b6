#!/bin/bash
# docs.sh — the documentation says what the code does: the man page's option reference is the
# one the option tables produce, and the options that --help and the man page teach are the
# ones the parser accepts.
. "$(dirname "$0")/lib.sh"
cd "$top_srcdir"

sed -n '/^\.\\" BEGIN OPTIONS/,/^\.\\" END OPTIONS/p' doc/cdrwatch.1 | sed '1d;$d' > "$TMP/man-options"
"$CDRWATCH" check-config --list-options=man > "$TMP/table-options"
same_file "$TMP/man-options" "$TMP/table-options" \
    "doc/cdrwatch.1 lists the options of the option tables (run 'make update-man' after changing them)"

# every long option that replay --help or the man page's replay section shows is accepted
"$CDRWATCH" replay --help > "$TMP/help"
sed -n '/^\.B replay$/,/^\.B run$/p' doc/cdrwatch.1 | { grep -oE '\\-\\-[a-z]+(\\-[a-z]+)*' || true; } |
    sed 's/\\-/-/g' | sort -u > "$TMP/man-opts"
for opt in $(grep -oE -- '--[a-z][a-z-]+' "$TMP/help" | cat - "$TMP/man-opts" | sort -u); do
    [ "$opt" = "--help" ] && continue
    run "$CDRWATCH" replay "$opt" x
    if grep -q "unknown option" "$TMP/err"; then ok_status 1 "replay accepts $opt, as documented"; else ok_status 0 "replay accepts $opt, as documented"; fi
done
for opt in --config --cdr --audit --audit-format --pg-log-prefix --out --dlq --quiet; do
    contains "$TMP/man-opts" "$opt" "the man page documents replay $opt"
done
# every shipped rule is documented in doc/rules.md (its positive and negative end-to-end cases
# are checked by cases.sh)
for id in $("$CDRWATCH" check-config | sed -n 's/^ *"id": "\(.*\)",$/\1/p'); do
    contains doc/rules.md "\`$id\`" "doc/rules.md documents the shipped rule $id"
done

# the same for score: every option its --help or the man page's score section shows is accepted,
# and the man page documents every option score accepts
"$CDRWATCH" score --help | sed '/^Examples:/,$d' > "$TMP/score-help" # the examples run replay too
sed -n '/^\.B score$/,/^\.SH /p' doc/cdrwatch.1 | { grep -oE '\\-\\-[a-z]+(\\-[a-z]+)*' || true; } |
    sed 's/\\-/-/g' | sort -u > "$TMP/man-score-opts"
for opt in $(grep -oE -- '--[a-z][a-z-]+' "$TMP/score-help" | cat - "$TMP/man-score-opts" | sort -u); do
    [ "$opt" = "--help" ] && continue
    run "$CDRWATCH" score "$opt" x
    if grep -q "unknown option" "$TMP/err"; then ok_status 1 "score accepts $opt, as documented"; else ok_status 0 "score accepts $opt, as documented"; fi
done
for opt in --labels --alerts --learning-until --grace --format --check; do
    contains "$TMP/man-score-opts" "$opt" "the man page documents score $opt"
done

# the same for run and demo: each long option of --help is accepted (a stray argument after it
# makes the command stop at the argument check, before any Kafka work) and in the man page
for cmd in run demo; do
    next=demo
    [ "$cmd" = demo ] && next='check\\-config'
    "$CDRWATCH" "$cmd" --help > "$TMP/help"
    sed -n "/^\.B $cmd\$/,/^\.B $next\$/p" doc/cdrwatch.1 | { grep -oE '\\-\\-[a-z]+(\\-[a-z]+)*' || true; } |
        sed 's/\\-/-/g' | sort -u > "$TMP/man-opts"
    for opt in $(grep -oE -- '--[a-z][a-z-]+' "$TMP/help" | sort -u); do
        [ "$opt" = "--help" ] && continue
        case "$opt" in --brokers | --group | --config | --cdr | --audit | --partitions) ;;
        *) [ "$cmd" = run ] && ! grep -qE -- "^ +(-[a-z], )?$opt " "$TMP/help" && continue ;; # examples, not options
        esac
        run "$CDRWATCH" "$cmd" "$opt" x stray
        if grep -q "unknown option" "$TMP/err"; then ok_status 1 "$cmd accepts $opt, as documented"; else ok_status 0 "$cmd accepts $opt, as documented"; fi
        contains "$TMP/man-opts" "$opt" "the man page documents $cmd $opt"
    done
done
done_testing
