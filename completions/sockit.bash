# sockit.bash - bash completion for sockit(1). Commands and flags are read from the
# binary's own --help (in English), so new commands and options complete without edits.

_sockit_help()
{
	LC_ALL=C LANGUAGE= "$@" --help 2>/dev/null
}

_sockit()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local bin=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]}
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		local cmds
		cmds=$(_sockit_help "$bin" | awk '/^Commands:/ { on = 1; next } on && /^$/ { on = 0 } on { print $1 }')
		mapfile -t COMPREPLY < <(compgen -W "$cmds --help --version" -- "$cur")
		return
	fi
	case $prev in
	--config | --contacts | --log-file)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--proto)
		mapfile -t COMPREPLY < <(compgen -W "$(_sockit_help "$bin" "$cmd" |
			grep -oE '\b(seed|daytime|rfc868|sntp|echo)\b' | sort -u)" -- "$cur")
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		local flags
		flags=$(_sockit_help "$bin" "$cmd" | grep -E '^ +-' |
			grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | tr -d ' ,' | sort -u)
		mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
	fi
}

complete -o default -F _sockit sockit
