using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CloudApp.ComputeApi.Tests;

/// <summary>
/// The service around the kernels stays small enough to read in one sitting: no method, constructor or local
/// function outside Kernels/ (where the numeric code lives) runs over <see cref="MaxLines"/> lines.
/// </summary>
public sealed class CodeShapeTests
{
    private const int MaxLines = 50;

    [Fact]
    public void NoMethodOutsideTheKernelsIsLongerThanFiftyLines()
    {
        var root = Path.Combine(RepositoryRoot.Path, "ComputeApi");
        var files = Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar)[0] is not ("Kernels" or "obj" or "bin"))
            .ToList();
        Assert.NotEmpty(files);

        var tooLong = files.SelectMany(file =>
        {
            var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(file), path: file);
            return tree.GetRoot().DescendantNodes()
                .Where(n => n is BaseMethodDeclarationSyntax or LocalFunctionStatementSyntax or AccessorDeclarationSyntax)
                .Select(n => (Node: n, Span: n.GetLocation().GetLineSpan()))
                .Where(m => m.Span.EndLinePosition.Line - m.Span.StartLinePosition.Line + 1 > MaxLines)
                .Select(m => $"{Path.GetRelativePath(RepositoryRoot.Path, file)}:{m.Span.StartLinePosition.Line + 1} "
                    + $"{Name(m.Node)} ({m.Span.EndLinePosition.Line - m.Span.StartLinePosition.Line + 1} lines)");
        }).ToList();

        Assert.True(tooLong.Count == 0, $"longer than {MaxLines} lines:\n" + string.Join("\n", tooLong));
    }

    private static string Name(SyntaxNode node) => node switch
    {
        MethodDeclarationSyntax method => method.Identifier.Text,
        ConstructorDeclarationSyntax constructor => constructor.Identifier.Text,
        LocalFunctionStatementSyntax local => local.Identifier.Text,
        _ => node.Kind().ToString(),
    };
}
