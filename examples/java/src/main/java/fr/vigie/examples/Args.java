package fr.vigie.examples;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Command-line arguments: positionals, and "--name value" options (repeatable). */
final class Args {
    private final List<String> positionals = new ArrayList<>();
    private final List<String[]> options = new ArrayList<>();

    Args(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--")) {
                boolean flag = i + 1 >= args.length || args[i + 1].startsWith("--");
                options.add(new String[] {args[i], flag ? "" : args[++i]});
            } else {
                positionals.add(args[i]);
            }
        }
    }

    String command() {
        return positionals.isEmpty() ? "" : positionals.get(0);
    }

    String positional(int index) {
        if (index >= positionals.size()) throw new IllegalArgumentException("argument manquant");
        return positionals.get(index);
    }

    String option(String name) {
        List<String> values = all(name);
        return values.isEmpty() ? null : values.get(values.size() - 1);
    }

    List<String> all(String name) {
        List<String> values = new ArrayList<>();
        for (String[] o : options) if (o[0].equals(name)) values.add(o[1]);
        return values;
    }

    boolean flag(String name) {
        return !all(name).isEmpty();
    }

    Path path(String name) {
        String value = option(name);
        return value == null ? null : Path.of(value);
    }

    Duration seconds(String name, double fallback) {
        String value = option(name);
        return Duration.ofMillis((long) (1000 * (value == null ? fallback : Double.parseDouble(value))));
    }
}
