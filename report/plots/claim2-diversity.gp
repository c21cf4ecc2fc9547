set terminal pngcairo size 900,560
set output 'report/plots/claim2-diversity.png'
set xlabel 'step'
set ylabel 'diversity (seed 0)'
set grid
set key outside right
plot 'report/plots/claim2-diversity.NoSync_gbest.dat' using 1:2 with linespoints title 'NoSync gbest', 'report/plots/claim2-diversity.NoSync_lbest.dat' using 1:2 with linespoints title 'NoSync lbest', 'report/plots/claim2-diversity.NoSync_mean.dat' using 1:2 with linespoints title 'NoSync mean', 'report/plots/claim2-diversity.NoSync_pso.dat' using 1:2 with linespoints title 'NoSync pso', 'report/plots/claim2-diversity.independent_workers__rho___0_.dat' using 1:2 with linespoints title 'independent workers (rho = 0)', 'report/plots/claim2-diversity.local-sgd.dat' using 1:2 with linespoints title 'local-sgd', 'report/plots/claim2-diversity.easgd.dat' using 1:2 with linespoints title 'easgd'
set terminal svg size 900,560
set output 'report/plots/claim2-diversity.svg'
set xlabel 'step'
set ylabel 'diversity (seed 0)'
set grid
set key outside right
plot 'report/plots/claim2-diversity.NoSync_gbest.dat' using 1:2 with linespoints title 'NoSync gbest', 'report/plots/claim2-diversity.NoSync_lbest.dat' using 1:2 with linespoints title 'NoSync lbest', 'report/plots/claim2-diversity.NoSync_mean.dat' using 1:2 with linespoints title 'NoSync mean', 'report/plots/claim2-diversity.NoSync_pso.dat' using 1:2 with linespoints title 'NoSync pso', 'report/plots/claim2-diversity.independent_workers__rho___0_.dat' using 1:2 with linespoints title 'independent workers (rho = 0)', 'report/plots/claim2-diversity.local-sgd.dat' using 1:2 with linespoints title 'local-sgd', 'report/plots/claim2-diversity.easgd.dat' using 1:2 with linespoints title 'easgd'
