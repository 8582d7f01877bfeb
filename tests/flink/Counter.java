import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * A small stateful streaming job for the provider's real-Flink tests: a running count and sum per key.
 *
 * <p>sequence source -> map that sleeps per element -> keyBy(x % keys) -> per-key count/sum in keyed
 * state -> discarding sink. Every operator has a uid, so a savepoint's state maps back on restore.
 *
 * <p>Arguments (all optional): {@code --sleep-ms N} (default 10), {@code --keys N} (default 4),
 * {@code --name NAME} (the job's name, default "counter").
 */
public class Counter {

    public static void main(String[] args) throws Exception {
        long sleepMs = 10;
        long keys = 4;
        String name = "counter";
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value after " + arg);
            }
            String value = args[++i];
            switch (arg) {
                case "--sleep-ms":
                    sleepMs = Long.parseLong(value);
                    break;
                case "--keys":
                    keys = Long.parseLong(value);
                    break;
                case "--name":
                    name = value;
                    break;
                default:
                    throw new IllegalArgumentException("unknown argument " + arg);
            }
        }
        final long keyCount = keys;

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(1, Long.MAX_VALUE)
                .uid("source")
                .name("sequence")
                .map(new Throttle(sleepMs))
                .uid("throttle")
                .name("throttle")
                .keyBy(new ByRemainder(keyCount))
                .map(new CountPerKey(keyCount))
                .uid("count-per-key")
                .name("count-per-key")
                .sinkTo(new DiscardingSink<>())
                .uid("sink")
                .name("discard");
        env.execute(name);
    }

    /** Passes each element on after sleeping, so the job runs for ever at a gentle pace. */
    public static final class Throttle implements MapFunction<Long, Long> {
        private final long sleepMs;

        Throttle(long sleepMs) {
            this.sleepMs = sleepMs;
        }

        @Override
        public Long map(Long value) throws Exception {
            if (sleepMs > 0) {
                Thread.sleep(sleepMs);
            }
            return value;
        }
    }

    /** The key: the element's remainder modulo the number of keys. */
    public static final class ByRemainder implements KeySelector<Long, Long> {
        private final long keys;

        ByRemainder(long keys) {
            this.keys = keys;
        }

        @Override
        public Long getKey(Long value) {
            return value % keys;
        }
    }

    /** Keeps a running count and sum per key in keyed state; emits (key, count, sum). */
    public static final class CountPerKey extends RichMapFunction<Long, Tuple3<Long, Long, Long>> {
        private final long keys;
        private transient ValueState<Long> count;
        private transient ValueState<Long> sum;

        CountPerKey(long keys) {
            this.keys = keys;
        }

        @Override
        public void open(OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
            sum = getRuntimeContext().getState(new ValueStateDescriptor<>("sum", Types.LONG));
        }

        @Override
        public Tuple3<Long, Long, Long> map(Long value) throws Exception {
            long key = value % keys;
            Long oldCount = count.value();
            Long oldSum = sum.value();
            long newCount = (oldCount == null ? 0 : oldCount) + 1;
            long newSum = (oldSum == null ? 0 : oldSum) + value;
            count.update(newCount);
            sum.update(newSum);
            return Tuple3.of(key, newCount, newSum);
        }
    }
}
