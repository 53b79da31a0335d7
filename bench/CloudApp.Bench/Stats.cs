using System.Diagnostics;

namespace CloudApp.Bench;

/// <summary>Median and relative spread of repeated measurements; these machines are noisy, so never one run.</summary>
public sealed record Stats(double Median, double Min, double Max)
{
    /// <summary>Half the range, relative to the median.</summary>
    public double Spread => Median == 0 ? 0 : (Max - Min) / 2 / Median;

    public static Stats Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("no measurements", nameof(values));
        var middle = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new(median, sorted[0], sorted[^1]);
    }

    /// <summary>The value at quantile <paramref name="q"/> (0..1) of the samples, nearest rank.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(q * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static double Seconds(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    public static async Task<double> SecondsAsync(Func<Task> action)
    {
        var start = Stopwatch.GetTimestamp();
        await action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
