package dev.tinyrt.io.hub;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.Console;
import java.io.PrintStream;
import java.text.DecimalFormat;
import java.time.Duration;

/** Where download progress goes: a progress bar per file on a terminal, nowhere otherwise. */
public interface ProgressSink {
    /** One file's transfer; {@link #position} is the number of bytes of the file now on disk. */
    interface Transfer extends AutoCloseable {
        void position(long bytes);

        @Override
        void close();
    }

    Transfer start(String fileName, long totalBytes, long alreadyOnDisk);

    ProgressSink NONE = (name, total, already) -> new Transfer() {
        @Override
        public void position(long bytes) {
        }

        @Override
        public void close() {
        }
    };

    /** Bars on {@code System.err} when it is an interactive terminal and {@code quiet} is off; else silence. */
    static ProgressSink forConsole(boolean quiet) {
        Console console = System.console();
        boolean terminal = console != null && console.isTerminal();
        return quiet || !terminal ? NONE : bars(System.err);
    }

    /** Bars (bytes, speed, ETA) written to {@code out}. */
    static ProgressSink bars(PrintStream out) {
        return (name, total, already) -> {
            ProgressBar bar = new ProgressBarBuilder()
                    .setTaskName(name.length() > 28 ? "…" + name.substring(name.length() - 27) : name)
                    .setInitialMax(total)
                    .startsFrom(already, Duration.ZERO)
                    .setUnit(total < (1 << 20) ? "KiB" : "MiB", total < (1 << 20) ? 1 << 10 : 1 << 20)
                    .showSpeed(new DecimalFormat("0.0"))
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(200)
                    .setConsumer(new ConsoleProgressBarConsumer(out, 110))
                    .build();
            return new Transfer() {
                @Override
                public void position(long bytes) {
                    bar.stepTo(bytes);
                }

                @Override
                public void close() {
                    bar.close();
                }
            };
        };
    }
}
