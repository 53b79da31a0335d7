using CliWrap;
using CliWrap.Buffered;

namespace CloudApp;

/// <summary>
/// Runs another program to its end, bounded in time, with its output captured: the one way the AppHost, the tests
/// and the benchmarks run one (this file is compiled into each). A run past its timeout is killed and reported as a
/// <see cref="TimeoutException"/>; a non-zero exit is a result, which <see cref="Result.EnsureSuccess"/> turns into
/// an exception where only success will do.
/// </summary>
internal static class ExternalProgram
{
    public sealed record Result(string Command, int ExitCode, string Output, string Error, TimeSpan RunTime)
    {
        public Result EnsureSuccess() =>
            ExitCode == 0 ? this : throw new InvalidOperationException($"{Command} failed ({ExitCode}): {Error.Trim()}");

        public override string ToString() => $"exit {ExitCode}\n{Output}\n{Error}";
    }

    /// <param name="fileName">The program, found on PATH or by its path.</param>
    /// <param name="arguments">Its arguments, each passed as one, unquoted.</param>
    /// <param name="timeout">How long it may run.</param>
    /// <param name="environment">Variables to set; a null value removes one.</param>
    /// <param name="workingDirectory">Its folder (default: the current one).</param>
    public static async Task<Result> RunAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var list = arguments.ToList();
        var command = $"{fileName} {string.Join(' ', list)}";
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var result = await Cli.Wrap(fileName)
                .WithArguments(list)
                .WithWorkingDirectory(workingDirectory ?? Directory.GetCurrentDirectory())
                .WithEnvironmentVariables(variables =>
                {
                    foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) variables.Set(key, value);
                })
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(cts.Token);
            return new Result(command, result.ExitCode, result.StandardOutput, result.StandardError, result.RunTime);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"{command} did not finish within {timeout.TotalSeconds:0} s");
        }
    }
}
